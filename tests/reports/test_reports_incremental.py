"""Incremental regeneration prints what a full regeneration of the same data prints, byte
for byte; a declaration's census and MARs come before every other file; worker processes
print what one process prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from standby.clinical.census import unit_census, units
from standby.reports.regeneration import UNIT_FILES, generate_all
from support.reports_support import NOW

AS_OF = NOW
ALLERGEN = "Zyxolamide test allergen"


def text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def assert_same_files(got: Path, want: Path) -> None:
    """Every unit's files and the schedules, byte for byte (the text first: a readable
    difference)."""
    names = sorted(p.name for p in want.iterdir() if p.is_dir())
    assert names == sorted(p.name for p in got.iterdir() if p.is_dir())
    for folder in names:
        for name in UNIT_FILES if folder != "schedules" else ("or.pdf", "clinics.pdf"):
            a, b = got / folder / name, want / folder / name
            if shutil.which("pdftotext"):
                assert text(a) == text(b), f"{folder}/{name}"
            assert a.read_bytes() == b.read_bytes(), f"{folder}/{name}"


def census_of(store, alias):
    unit = next(u for u in units(store) if u.alias == alias)
    return unit, unit_census(store, unit.id, NOW)


def change_one_patient_and_transfer_another(store) -> tuple[set[str], str, str, str, str]:
    """A new allergy for a 3W patient; a patient moved to an empty bed on another unit.
    Returns the units changed, the allergic patient's MRN and the moved patient's MRN,
    and the aliases of the units they left and joined."""
    e4, c4 = census_of(store, "3W")
    allergic = next(b.patient for b in c4.beds if b.patient is not None)
    store.create(
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": f"Patient/{allergic.id}"},
            "code": {"text": ALLERGEN},
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
            "criticality": "high",
        }
    )
    censuses = [(u, unit_census(store, u.id, NOW)) for u in units(store)]
    dst, c_dst = next((u, c) for u, c in censuses if any(b.patient is None for b in c.beds))
    empty = next(b for b in c_dst.beds if b.patient is None and b.bed_id)
    src, moved = next(
        (u, b.patient)
        for u, c in censuses
        if u.id != dst.id
        for b in c.beds
        if b.patient is not None and b.patient.id != allergic.id
    )
    for sr in store.compartment(moved.id, ["Encounter"]):
        enc = sr.json()
        if enc.get("status") == "in-progress":
            enc["location"] = [
                {"location": {"reference": f"Location/{empty.bed_id}"}, "status": "active"}
            ]
            store.update(enc)
    return {e4.id, src.id, dst.id}, allergic.mrn, moved.mrn, src.alias, dst.alias


def test_incremental_packets_equal_a_full_regeneration(replica_copy, tmp_path):
    inc, full = tmp_path / "incremental", tmp_path / "full"
    first = generate_all(replica_copy, inc, NOW, data_as_of=AS_OF, workers=2)
    assert not first.errors and first.regenerated is None
    changed, mrn, moved_mrn, left, joined = change_one_patient_and_transfer_another(replica_copy)

    man = generate_all(replica_copy, inc, NOW, data_as_of=AS_OF, workers=2, changed_only=True)
    assert not man.errors
    assert set(man.regenerated or []) == changed  # exactly the units that changed

    again = generate_all(replica_copy, full, NOW, data_as_of=AS_OF, workers=1)
    assert not again.errors and again.pages == man.pages
    assert_same_files(inc, full)
    by_alias = {u.unit: Path(u.folder) for u in man.units}
    if shutil.which("pdftotext"):
        assert ALLERGEN in text(by_alias["3W"] / "packets.pdf")
        assert moved_mrn in text(by_alias[joined] / "census.pdf")
        assert moved_mrn not in text(by_alias[left] / "census.pdf")
        assert mrn in text(by_alias["3W"] / "mar.pdf")
    written = json.loads((inc / "manifest.json").read_text())
    assert written["regenerated"] == sorted(changed)


def test_nothing_changed_regenerates_nothing_and_new_inputs_everything(replica_copy, tmp_path):
    out = tmp_path / "out"
    generate_all(replica_copy, out, NOW, data_as_of=AS_OF, workers=1, schedules=False)
    gens = sorted(p.name for p in (out / "loc-icu" / "generations").iterdir())
    man = generate_all(replica_copy, out, NOW, data_as_of=AS_OF, workers=1, changed_only=True)
    assert man.regenerated == [] and not man.errors
    assert sorted(p.name for p in (out / "loc-icu" / "generations").iterdir()) == gens
    assert all(u.files for u in man.units)  # the kept units stay in the manifest
    man = generate_all(
        replica_copy, out, NOW, data_as_of=AS_OF, workers=1, banner="DOWNTIME", changed_only=True
    )
    assert man.regenerated is None  # a banner is on every page: every unit again


def test_declaration_prints_every_census_and_mar_before_anything_else(hospital, tmp_path):
    man = generate_all(
        hospital, tmp_path, NOW, data_as_of=AS_OF, banner="DOWNTIME", workers=2, first=True
    )
    assert not man.errors and man.first_seconds is not None
    assert man.first_seconds <= man.seconds
    firsts, rests = [], []
    for u in man.units:
        gen = Path(u.folder) / "generations" / u.generation
        assert sorted(f.name for f in u.files) == sorted(UNIT_FILES)
        for name in UNIT_FILES:
            mtime = (gen / name).stat().st_mtime_ns
            (firsts if name in ("census.pdf", "mar.pdf") else rests).append(mtime)
    assert max(firsts) <= min(rests)
    unit_manifest = json.loads((Path(man.units[0].folder) / "manifest.json").read_text())
    assert [f["name"] for f in unit_manifest["files"]] == list(UNIT_FILES)


def test_run_forever_regenerates_the_changed_units_between_full_runs(hospital, tmp_path):
    import threading

    from standby.reports.regeneration import run_forever

    stop = threading.Event()
    seen = []

    def generated(man):
        seen.append(man)
        if len(seen) == 3:
            stop.set()

    guard = threading.Timer(600, stop.set)  # without the changed-units runs: fail, not hang
    guard.start()
    run_forever(
        hospital,
        tmp_path,
        interval_minutes=60.0,
        changes_every_seconds=0.01,
        clock=lambda: NOW,
        data_as_of=lambda: NOW,
        stop=stop,
        on_generated=generated,
        unit_ids=["ICU"],
        schedules=False,
        workers=1,
    )
    guard.cancel()
    # one full run, then the changed-units runs (nothing changed: nothing redone)
    assert [m.regenerated for m in seen] == [None, [], []]
    assert all(not m.errors and m.units[0].files for m in seen)


def test_declaration_reads_each_unit_once_and_prints_what_one_pass_prints(
    hospital, tmp_path, monkeypatch
):
    """The rest of a declaration's files are printed from what its first part read (one
    snapshot, every compartment read and summarised once), and are the files one pass
    prints."""
    from standby.reports import regeneration

    reads: list[str] = []
    real = regeneration.unit_census_and_summaries

    def counted(store, unit_id, *args, **kwargs):
        reads.append(unit_id)
        return real(store, unit_id, *args, **kwargs)

    monkeypatch.setattr(regeneration, "unit_census_and_summaries", counted)
    man = generate_all(
        hospital, tmp_path / "a", NOW, data_as_of=AS_OF, banner="DOWNTIME", workers=1, first=True
    )
    assert not man.errors
    assert sorted(reads) == sorted(u.unit_id for u in man.units)
    generate_all(hospital, tmp_path / "b", NOW, data_as_of=AS_OF, banner="DOWNTIME", workers=1)
    assert_same_files(tmp_path / "a", tmp_path / "b")


def test_one_unit_to_draw_starts_no_worker_process(hospital, tmp_path, monkeypatch):
    """A worker costs a process and its imports (~0.6 CPU-seconds each): a run with one unit
    to draw (a changed-only run's usual case) draws it in the calling process."""
    from standby.reports import parallel

    asked: list[int] = []
    real = parallel.executor

    def recorded(workers: int):
        asked.append(workers)
        return real(workers)

    monkeypatch.setattr(parallel, "executor", recorded)
    man = generate_all(hospital, tmp_path, NOW, data_as_of=AS_OF, workers=2, unit_ids=["ICU"])
    assert not man.errors and asked == [1]
    man = generate_all(hospital, tmp_path / "all", NOW, data_as_of=AS_OF, workers=2)
    assert not man.errors and asked == [1, 2]
