"""Pages kept between generations (`standby.reports.page_cache`): an incremental run that
copies the unchanged patients' pages from the last generation prints what a full
regeneration of the same data prints, and an unchanged patient's pages are copied, not
drawn."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from standby.clinical.census import unit_census, units
from standby.reports import page_cache, render
from standby.reports.regeneration import UNIT_FILES, generate_all
from support.reports_support import NOW

AS_OF = NOW
# outside the seeded characters (Latin-1 and ASCII): drawn every time, never kept
FAR_NAME = ("Łukasz Ærøskøbing", "Nguyễn-Żółć")
NEAR_NAME = ("Inés", "Gómez-Ñúñez")  # Latin-1: kept like any other


def pdf_text(pdf: Path) -> list[str]:
    """The text of every page (pdftotext, else pypdf)."""
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
        ).stdout
        return out.split("\f")
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(str(pdf)).pages]


def assert_same_unit_files(got: Path, want: Path) -> None:
    names = sorted(p.name for p in want.iterdir() if p.is_dir() and p.name != "schedules")
    assert names == sorted(p.name for p in got.iterdir() if p.is_dir() and p.name != "schedules")
    for folder in names:
        for name in UNIT_FILES:
            a, b = got / folder / name, want / folder / name
            assert pdf_text(a) == pdf_text(b), f"{folder}/{name}"
            assert a.read_bytes() == b.read_bytes(), f"{folder}/{name}"


def inpatients(store) -> list[tuple[str, str]]:
    """(unit id, patient id) of every patient in a bed, in census order."""
    return [
        (u.id, b.patient.id)
        for u in units(store)
        for b in unit_census(store, u.id, NOW).beds
        if b.patient is not None
    ]


def name_of(store, patient_id: str) -> str:
    return json.dumps(store.read("Patient", patient_id).json().get("name"), ensure_ascii=False)


def rename(store, patient_id: str, given: str, family: str) -> None:
    pt = store.read("Patient", patient_id).json()
    pt["name"] = [{"use": "official", "family": family, "given": [given]}]
    store.update(pt)


def new_allergy(store, patient_id: str) -> None:
    store.create(
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": f"Patient/{patient_id}"},
            "code": {"text": "Zyxolamide test allergen"},
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


def new_dose(store, patient_id: str) -> bool:
    """A dose of one of the patient's active orders given 20 minutes ago."""
    for sr in store.compartment(patient_id, ["MedicationRequest"]):
        mr = sr.json()
        if mr.get("status") != "active" or "medicationCodeableConcept" not in mr:
            continue
        store.create(
            {
                "resourceType": "MedicationAdministration",
                "status": "completed",
                "medicationCodeableConcept": mr["medicationCodeableConcept"],
                "subject": {"reference": f"Patient/{patient_id}"},
                "effectiveDateTime": (NOW - timedelta(minutes=20)).isoformat(),
                "request": {"reference": f"MedicationRequest/{mr['id']}"},
                "performer": [{"actor": {"display": "Test Nurse, RN"}}],
            }
        )
        return True
    return False


def current_encounter(store, patient_id: str) -> dict:
    return next(
        e
        for e in (sr.json() for sr in store.compartment(patient_id, ["Encounter"]))
        if e.get("status") == "in-progress"
    )


def discharge(store, patient_id: str) -> None:
    enc = current_encounter(store, patient_id)
    enc["status"] = "finished"
    enc["period"] = {**enc.get("period", {}), "end": (NOW - timedelta(minutes=30)).isoformat()}
    for loc in enc.get("location") or []:
        loc["status"] = "completed"
    store.update(enc)


def admit(store, given: str, family: str) -> None:
    """A new patient in an empty bed."""
    bed = next(
        b.bed_id
        for u in units(store)
        for b in unit_census(store, u.id, NOW).beds
        if b.patient is None and b.bed_id
    )
    pt = store.create(
        {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:test:mrn", "value": "MRN-NEW-1"}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": "female",
            "birthDate": "1961-04-02",
        }
    )
    pid = pt.id
    store.create(
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
            },
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": (NOW - timedelta(minutes=45)).isoformat()},
            "location": [{"location": {"reference": f"Location/{bed}"}, "status": "active"}],
        }
    )


@pytest.mark.slow
def test_incremental_with_kept_pages_equals_a_full_regeneration(replica_copy, tmp_path):
    rng = random.Random(18)
    before = inpatients(replica_copy)
    far = rng.choice(before)[1]
    rename(replica_copy, far, *FAR_NAME)  # drawn every time, beside kept pages
    inc, full = tmp_path / "incremental", tmp_path / "full"
    first = generate_all(replica_copy, inc, NOW, data_as_of=AS_OF, workers=2, schedules=False)
    assert not first.errors and first.reused_pages == 0

    allergic, dosed, gone, renamed = rng.sample([p for p in before if p[1] != far], 4)
    new_allergy(replica_copy, allergic[1])
    assert new_dose(replica_copy, dosed[1]) or new_dose(replica_copy, allergic[1])
    discharge(replica_copy, gone[1])
    rename(replica_copy, renamed[1], *FAR_NAME[::-1])
    admit(replica_copy, *NEAR_NAME)

    man = generate_all(
        replica_copy, inc, NOW, data_as_of=AS_OF, workers=2, schedules=False, changed_only=True
    )
    assert not man.errors and man.regenerated
    assert man.reused_pages > 0  # the unchanged patients of the changed units
    again = generate_all(replica_copy, full, NOW, data_as_of=AS_OF, workers=1, schedules=False)
    assert not again.errors and again.reused_pages == 0 and again.pages == man.pages
    assert_same_unit_files(inc, full)
    text = "".join(
        "".join(pdf_text(Path(u.folder) / "packets.pdf")) for u in man.units if u.unit_id
    )
    assert "Gómez-Ñúñez" in text.replace("\n", " ") or "GÓMEZ-ÑÚÑEZ" in text
    assert "Zyxolamide test allergen" in text


def test_an_unchanged_patient_is_copied_not_drawn(replica_copy, tmp_path, monkeypatch):
    """One patient of the largest unit changes: only that patient's pages are drawn again (and the
    patient whose name is outside the seeded characters, drawn every time); a clock one
    minute later changes every patient's pages (the MAR's window starts at it)."""
    built: list[tuple[str, str]] = []
    for part in ("_packet", "mar_only", "forms"):
        real = getattr(render, part)

        def counted(s, real=real, part=part):
            built.append((part, s.header.patient_id))
            return real(s)

        monkeypatch.setattr(render, part, counted)
    beds = inpatients(replica_copy)
    unit = max({u for u, _ in beds}, key=lambda u: sum(1 for x, _ in beds if x == u))
    icu = [p for u, p in beds if u == unit]  # the largest unit
    assert len(icu) >= 3
    changed, far = icu[0], icu[1]
    rename(replica_copy, far, *FAR_NAME)
    out = tmp_path / "out"
    first = generate_all(
        replica_copy, out, NOW, data_as_of=AS_OF, workers=1, schedules=False, unit_ids=[unit]
    )
    assert not first.errors
    assert sorted({p for _, p in built}) == sorted(icu) and len(built) == 3 * len(icu)
    drawn_first = first.units[0].drawn_pages

    built.clear()
    new_allergy(replica_copy, changed)
    man = generate_all(
        replica_copy,
        out,
        NOW,
        data_as_of=AS_OF,
        workers=1,
        schedules=False,
        unit_ids=[unit],
        changed_only=True,
    )
    assert man.regenerated == [unit] and not man.errors
    mine = sorted(part for part, p in built if p == changed)
    assert mine == ["_packet", "forms", "mar_only"]  # the changed patient: every page
    others = [(part, p) for part, p in built if p != changed]
    assert ("_packet", far) in others  # a name outside the seeded characters: drawn again
    for part, p in others:  # (its MAR and forms do not print the name: kept)
        assert part == "_packet" and not page_cache.only_seed(name_of(replica_copy, p)), (part, p)
    assert set(icu) - {p for _, p in built}  # unchanged patients: nothing drawn
    entry = man.units[0]
    assert entry.reused_pages > 0
    assert entry.drawn_pages + entry.reused_pages >= drawn_first
    assert entry.drawn_pages < drawn_first

    built.clear()
    later = generate_all(
        replica_copy,
        out,
        NOW + timedelta(minutes=1),
        data_as_of=AS_OF,
        workers=1,
        schedules=False,
        unit_ids=[unit],
    )
    assert later.reused_pages == 0 and len(built) == 3 * len(icu)
