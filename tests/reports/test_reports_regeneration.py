"""Regeneration ahead of time: atomic generations, retention, the manifest, printing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from standby.reports import printing
from standby.reports.regeneration import UNIT_FILES, generate_all, prune
from support.reports_support import NOW


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generations_are_kept_and_pruned(hospital, tmp_path):
    for k in range(4):
        man = generate_all(
            hospital,
            tmp_path,
            NOW + timedelta(minutes=15 * k),
            data_as_of=NOW,
            unit_ids=["ICU"],
            keep=2,
            schedules=False,
        )
        assert not man.errors
    gens = sorted(p.name for p in (tmp_path / "loc-icu" / "generations").iterdir())
    assert gens == ["20261128T123000Z", "20261128T124500Z"]
    latest = tmp_path / "loc-icu" / "generations" / gens[-1]
    for name in UNIT_FILES:  # the top-level files are the newest generation's
        assert digest(tmp_path / "loc-icu" / name) == digest(latest / name)
    unit_manifest = json.loads((tmp_path / "loc-icu" / "manifest.json").read_text())
    assert unit_manifest["generation"] == gens[-1]


def test_leftovers_of_a_dead_generator_are_removed(tmp_path):
    gens = tmp_path / "generations"
    (gens / "20261128T120000Z").mkdir(parents=True)
    dead = gens / ".tmp-20261128T121500Z-999999999"
    dead.mkdir()
    (dead / "mar.pdf").write_bytes(b"%PDF-1.4 half")
    prune(gens, keep=3)
    assert not dead.exists()
    assert (gens / "20261128T120000Z").exists()


CHILD = """
from datetime import datetime, timedelta
from pathlib import Path
from standby.store import open_store
from standby.reports.regeneration import generate_all
NOW = datetime.fromisoformat({now!r})
store = open_store(db=Path({db!r}))
print("loaded", flush=True)
k = 1
while True:
    generate_all(store, {out!r}, NOW + timedelta(minutes=15 * k), data_as_of=NOW)
    k += 1
"""


def test_killed_generator_leaves_the_previous_generation_intact(hospital, hospital_db, tmp_path):
    out = tmp_path / "packets"
    first = generate_all(hospital, out, NOW, data_as_of=NOW)
    assert not first.errors
    before = {p: digest(p) for u in first.units for p in Path(u.folder).glob("*.pdf")}
    gens = Path(first.units[0].folder) / "generations"
    prev = gens / first.units[0].generation
    prev_files = {p.name: digest(p) for p in prev.iterdir()}
    code = CHILD.format(now=NOW.isoformat(), db=str(hospital_db), out=str(out))
    errors = tmp_path / "child.err"
    with open(errors, "wb") as err:
        # its own process group: the generator and its unit workers are killed together, as
        # a service manager kills a service (a worker left alive rightly keeps its temp
        # folder until it ends)
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not list(gens.glob(".tmp-*")):  # the child is writing the first unit's files
            assert proc.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the generator never started a generation"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(gens.glob(".tmp-*")), "killed after the generation finished: not a mid-run kill"
    # the previous generation is intact and every published file is a whole PDF
    assert {p.name: digest(p) for p in prev.iterdir()} == prev_files
    for path, old in before.items():
        assert path.exists()
        assert len(PdfReader(path).pages) >= 1
        if path.parent == gens.parent:
            assert digest(path) == old  # the unit being written was not published
    json.loads((out / "manifest.json").read_text())  # still whole JSON
    # the next run cleans up the dead generator's temp folder
    generate_all(hospital, out, NOW + timedelta(hours=2), data_as_of=NOW, schedules=False)
    assert not list(gens.glob(".tmp-*"))


def test_lp_command_for_a_unit_printer():
    argv = printing.lp_argv("4W-laser", Path("/p/4W/mar.pdf"), copies=2, title="Standby 4W")
    assert argv == [
        "lp",
        "-d",
        "4W-laser",
        "-n",
        "2",
        "-o",
        "sides=one-sided",
        "-t",
        "Standby 4W",
        "/p/4W/mar.pdf",
    ]
    with pytest.raises(printing.PrintError):
        printing.lp_argv("-oops", Path("x.pdf"))


def test_print_runs_lp_per_file(hospital, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lp.log"
    fake = bin_dir / "lp"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho request id is x-1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    man = generate_all(
        hospital,
        tmp_path / "out",
        NOW,
        data_as_of=NOW,
        unit_ids=["ICU"],
        printers={"ICU": "icu-printer"},
        schedules=False,
    )
    assert not man.errors
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("-d icu-printer -n 1") for line in lines)
    assert lines[0].endswith("loc-icu/census.pdf") and lines[1].endswith("loc-icu/mar.pdf")
    assert man.units[0].printed[1][-1].endswith("mar.pdf")


def test_run_forever_regenerates_until_stopped(hospital, tmp_path):
    import threading

    from standby.reports.regeneration import run_forever

    stop = threading.Event()
    seen = []
    times = iter(NOW + timedelta(minutes=15 * k) for k in range(100))

    def generated(man):
        seen.append(man)
        if len(seen) == 3:
            stop.set()

    run_forever(
        hospital,
        tmp_path,
        interval_minutes=0.0,
        keep=2,
        clock=lambda: next(times),
        data_as_of=lambda: NOW,
        banner=lambda: "DOWNTIME",
        stop=stop,
        on_generated=generated,
        unit_ids=["ICU"],
        schedules=False,
    )
    assert len(seen) == 3
    assert [m.generated_at[11:16] for m in seen] == ["12:00", "12:15", "12:30"]
    assert all(m.banner == "DOWNTIME" and not m.errors for m in seen)
    assert len(list((tmp_path / "loc-icu" / "generations").iterdir())) == 2


def test_an_unknown_unit_is_an_error(hospital, tmp_path):
    man = generate_all(hospital, tmp_path, NOW, data_as_of=NOW, unit_ids=["9Z"], schedules=False)
    assert man.errors == ["9Z: no such care unit in the replica"]
    assert man.units == []


def test_a_zombie_worker_is_not_alive():
    """A killed generator's worker that nothing reaped is a zombie: its temp folder is a
    dead run's, cleaned by the next run (in a container whose first process reaps no
    orphans, the killed generator's workers stay zombies)."""
    from standby.reports.generations import _pid_alive

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert not _pid_alive(proc.pid)
        assert _pid_alive(os.getpid())
    finally:
        proc.wait()
