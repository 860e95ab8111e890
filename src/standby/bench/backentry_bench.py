"""`standby bench backentry` — how fast back-entry files a downtime's journal into the EHR,
beside the EHR's own write capacity measured in the same run (docs/recovery.md#speed).

The simulated EHR runs in its own process (as an EHR would: back-entry and the EHR do not
share an interpreter). The journal is `standby.bench.backentry_journal`'s: `30 × scale`
patients documented on for `48 × scale` hours (scale 1: about 3,000 entries, 9,000
resources and Provenances), filed by `standby recover run`'s code with 4 workers.

Figures:
* back-entry: entries/s and resources written/s (each read back from the EHR by its
  identifier before it counts), beside the EHR's capacity: plain creates/s (`POST
  /Observation`, no condition, 4 threads) against the same server in the same run. Goal:
  at least 0.5 of that.
* the time to file 4 weeks of a 300-bed hospital (168,000 entries at 20 entries per patient
  a day), projected from the measured entries/s. Goal: under 1 hour.
* the same journal again (a third of the patients) with 20 % of the EHR's answers failing
  (503, 429, connection resets; 10 ms added to each) and the runner process SIGKILLed 5
  times, each time after it has started sending, before a last run finishes: duplicates
  and lost resources at the EHR (each identifier searched). Goal: 0.

Until the journal load simulation of 4 weeks of a 300-bed hospital is merged, the journal
is this module's smaller one; the projection says what the full size would take.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from standby.bench import backentry_journal as bj
from standby.bench.harness import Figure, Progress, benchmark
from standby.journal import repository
from standby.journal.entries import Kind
from standby.journal.fhir_mapping import URI_SYSTEM
from standby.recovery import execute, schema, state
from standby.recovery.plan import Plan, make_plan
from standby.store import Store, open_store
from standby.sync.http import FhirClient

FULL_ENTRIES = 300 * 28 * 20  # 4 weeks of a 300-bed hospital, 20 entries a patient a day
WORKERS = 4
HOSPITAL_AT = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)

_SERVE = """
import sys, time
from standby.sim.server import run_in_thread
from standby.store import Store, open_store
base, handle = run_in_thread(open_store(db=sys.argv[1]), change_rate=0)
print(base, handle.admin_url, flush=True)
while True:
    time.sleep(3600)
"""

_RUN = """
import sys
from datetime import timedelta
from standby.recovery import execute
from standby.store import Store, open_store
from standby.sync.http import FhirClient, RetryPolicy
store = open_store(db=sys.argv[1])
regs = sys.argv[3].split(",") if sys.argv[3] else []
with FhirClient(sys.argv[2], rate=0, concurrency=4, policy=RetryPolicy(max_attempts=40,
        base_delay=0.01, max_delay=0.2, max_retry_after=0.2)) as client:
    r = execute.run(store, client, decisions_of=lambda s: dict.fromkeys(regs), node="bench",
                    lease=timedelta(seconds=1), workers=4)
sys.exit(1 if r.stopped or r.unconfirmed or r.busy_elsewhere else 0)
"""


class _Ehr:
    """The simulated EHR in a child process, over a fresh `ehr.db` (or over `db`, a copy of
    a generated hospital)."""

    def __init__(self, folder: Path, patients: int, db: Path | None = None) -> None:
        if db is None:
            db = folder / "ehr.db"
            store = open_store(db=db)
            bj.hospital(store, patients, at=HOSPITAL_AT)
            store.close()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(db)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base, self.admin = self.proc.stdout.readline().split()

    def faults(self, **kw: object) -> None:
        httpx.post(f"{self.admin}/_admin/faults", json=kw).raise_for_status()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _replica(folder: Path, patients: int, hours: float) -> tuple[Path, list[str], Plan]:
    db = folder / "replica.db"
    store = open_store(db=db)
    bj.hospital(store, patients, at=HOSPITAL_AT)
    entries = bj.journal(patients, hours, HOSPITAL_AT + timedelta(hours=1), registrations=15)
    repository.append(store, entries)
    store.close()
    regs = [e.id for e in entries if e.kind is Kind.REGISTRATION]
    plan = make_plan(entries, seen={}, decisions=dict.fromkeys(regs), transactions=True)
    return db, regs, plan


def _plain_creates(base: str, seconds: float) -> float:
    """Resources/s the EHR creates from plain `POST /Observation` (4 threads)."""
    stop = time.perf_counter() + seconds
    counts = [0] * WORKERS

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            while time.perf_counter() < stop:
                r = c.post(
                    f"{base}/Observation",
                    json={
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "baseline"},
                        "subject": {"reference": f"Patient/bp{i}"},
                        "identifier": [{"system": URI_SYSTEM, "value": f"urn:uuid:{uuid.uuid4()}"}],
                        "valueQuantity": {"value": 70, "unit": "/min"},
                    },
                )
                r.raise_for_status()
                counts[i] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def _copies(base: str, plan: Plan) -> tuple[int, int]:
    """(duplicated, lost) resources at the EHR, each identifier searched."""
    by_type: dict[str, list[str]] = {}
    for s in plan.steps:
        for w in s.writes:
            if w.method == "POST":
                by_type.setdefault(w.resource_type, []).append(w.identifier)
    seen: dict[str, int] = {}
    with httpx.Client(timeout=60) as c:
        for rtype, idents in by_type.items():
            for i in range(0, len(idents), 40):
                part = idents[i : i + 40]
                r = c.get(
                    f"{base}/{rtype}",
                    params={
                        "identifier": ",".join(f"{URI_SYSTEM}|{v}" for v in part),
                        "_count": "1000",
                    },
                )
                r.raise_for_status()
                for e in r.json().get("entry") or []:
                    for ident in e["resource"].get("identifier") or []:
                        if ident.get("system") == URI_SYSTEM and ident["value"] in part:
                            seen[ident["value"]] = seen.get(ident["value"], 0) + 1
    wanted = [i for ids in by_type.values() for i in ids]
    return (
        sum(1 for v in seen.values() if v > 1),
        sum(1 for i in wanted if seen.get(i, 0) == 0),
    )


def _filed(folder: Path, patients: int, hours: float, progress: Progress) -> list[Figure]:
    db, regs, plan = _replica(folder, patients, hours)
    ehr = _Ehr(folder, patients)
    try:
        progress.step("the EHR's plain creates (baseline)")
        capacity = _plain_creates(ehr.base, 10.0)
        progress.step(f"back-entry of {len(plan.steps)} entries")
        store = open_store(db=db)
        start = time.perf_counter()
        with FhirClient(ehr.base, rate=0, concurrency=WORKERS) as client:
            result = execute.run(
                store,
                client,
                decisions_of=lambda s: dict.fromkeys(regs),
                node="bench",
                workers=WORKERS,
            )
        took = time.perf_counter() - start
        store.close()
        duplicated, lost = _copies(ehr.base, plan)
    finally:
        ehr.close()
    writes = sum(1 for s in plan.steps for w in s.writes)
    entries_s = result.confirmed / took
    resources_s = writes / took
    projected = FULL_ENTRIES / entries_s / 60 if entries_s else float("inf")
    return [
        Figure(
            f"back-entry: {len(plan.steps):,} entries ({writes:,} resources) filed",
            round(took, 1),
            "s",
            "reported",
            None,
        ),
        Figure(
            "back-entry: resources written and read back per second",
            round(resources_s, 1),
            "resources/s",
            ">= 0.5 × the EHR's plain creates/s",
            resources_s >= 0.5 * capacity,
            baseline=round(capacity, 1),
            baseline_name="the same EHR's plain creates/s (POST /Observation, 4 threads)",
        ),
        Figure(
            "back-entry: entries per second", round(entries_s, 1), "entries/s", "reported", None
        ),
        Figure(
            f"projected: 4 weeks of a 300-bed hospital ({FULL_ENTRIES:,} entries)",
            round(projected, 1),
            "min",
            "< 60 min",
            projected < 60,
        ),
        Figure("duplicates at the EHR", duplicated, "resources", "0", duplicated == 0),
        Figure("lost (not at the EHR)", lost, "resources", "0", lost == 0 and not result.stopped),
    ]


def _sent(store: Store) -> int:
    """Entries marked sent or confirmed so far (read beside the runner)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT count(*) FROM recovery_events WHERE to_status IN ('sent', 'confirmed')"
        )
    return int(rows[0][0])


def _faults_and_kills(
    folder: Path, patients: int, hours: float, progress: Progress
) -> list[Figure]:
    db, regs, plan = _replica(folder, patients, hours)
    ehr = _Ehr(folder, patients)
    cmd = [sys.executable, "-c", _RUN, str(db), ehr.base, ",".join(regs)]
    rng = random.Random(5)
    kills = runs = 0
    start = time.perf_counter()
    try:
        ehr.faults(error_rate=0.2, latency_ms=10)
        watch = open_store(db=db)
        try:
            while kills < 5 and runs < 25:
                progress.step(f"20 % failing answers: run {runs + 1}, {kills} kills so far")
                before = _sent(watch)
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                runs += 1
                # killed at some point after it has started sending
                while proc.poll() is None and _sent(watch) <= before:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.5))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                proc.wait()
        finally:
            watch.close()
        ehr.faults(latency_ms=0)
        code = 1
        while code != 0 and runs < 40:
            progress.step(f"20 % failing answers: finishing (run {runs + 1})")
            code = subprocess.run(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ).returncode
            runs += 1
            if code:
                time.sleep(1.1)  # a killed runner's lease ends
        took = time.perf_counter() - start
        ehr.faults(error_rate=0.0)
        duplicated, lost = _copies(ehr.base, plan)
    finally:
        ehr.close()
    store = open_store(db=db)
    totals = state.totals(store)
    store.close()
    return [
        Figure(
            f"20 % failing answers, {kills} SIGKILLs: {len(plan.steps):,} entries filed in",
            round(took, 1),
            "s",
            "reported",
            None,
        ),
        Figure(
            "20 % failing, kills: duplicates at the EHR",
            duplicated,
            "resources",
            "0",
            duplicated == 0,
        ),
        Figure("20 % failing, kills: lost", lost, "resources", "0", lost == 0),
        Figure("20 % failing: runner SIGKILLed while sending", kills, "times", "5", kills == 5),
        Figure(
            "20 % failing, kills: entries confirmed",
            totals["confirmed"],
            "entries",
            f"= {len(plan.steps)} (all)",
            totals["confirmed"] == len(plan.steps),
        ),
    ]


@benchmark("backentry")
def backentry(scale: float, progress: Progress) -> list[Figure]:
    patients = max(3, round(30 * scale))
    hours = 48 * max(scale, 0.25)
    with tempfile.TemporaryDirectory(prefix="standby-bench-backentry-") as tmp:
        first = Path(tmp) / "filed"
        first.mkdir()
        figures = _filed(first, patients, hours, progress)
        second = Path(tmp) / "faults"
        second.mkdir()
        figures += _faults_and_kills(second, max(3, patients // 3), hours, progress)
    return figures


def _copy_db(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(src) + suffix)
        if side.exists():
            shutil.copy(side, Path(str(dst) + suffix))


@benchmark("backentry-full")
def backentry_full(scale: float, progress: Progress) -> list[Figure]:
    """Back-entry at the size the issue names: the journal issue's simulation (4 weeks of
    a 300-bed hospital × scale, `journal.simulate`, built once and cached by
    `standby bench journal-load`) filed into a simulated EHR that holds the same generated
    hospital, every downtime registration filed as a new patient; beside the same EHR's
    plain creates/s, then every identifier searched at the EHR (duplicates, lost)."""
    from standby.bench.journal_load_bench import _replicas
    from standby.recovery import facts

    beds = max(10, round(300 * scale))
    bare, full, count = _replicas(beds, progress)
    with tempfile.TemporaryDirectory(prefix="standby-bench-backentry-full-") as tmp:
        folder = Path(tmp)
        ehr_db, replica_db = folder / "ehr.db", folder / "replica.db"
        _copy_db(bare, ehr_db)
        _copy_db(full, replica_db)
        store = open_store(db=replica_db)
        entries = facts.journal(store)
        regs = [e.id for e in entries if e.kind is Kind.REGISTRATION]
        seen = facts.seen_versions(store, entries)
        plan = make_plan(entries, seen=seen, decisions=dict.fromkeys(regs), transactions=True)
        del entries
        ehr = _Ehr(folder, 0, db=ehr_db)
        try:
            progress.step("the EHR's plain creates (baseline)")
            capacity = _plain_creates(ehr.base, 10.0)
            progress.step(f"back-entry of {len(plan.steps):,} entries")
            start = time.perf_counter()
            with FhirClient(ehr.base, rate=0, concurrency=WORKERS) as client:
                result = execute.run(
                    store,
                    client,
                    decisions_of=lambda s: dict.fromkeys(regs),
                    node="bench",
                    workers=WORKERS,
                )
            took = time.perf_counter() - start
            progress.step("searching every identifier at the EHR")
            duplicated, lost = _copies(ehr.base, plan)
        finally:
            ehr.close()
            store.close()
    writes = sum(1 for s in plan.steps for w in s.writes)
    resources_s = writes / took
    return [
        Figure(
            f"journal entries (4 weeks, {beds} beds, simulated)", count, "entries", "reported", None
        ),
        Figure(
            f"back-entry: {len(plan.steps):,} entries ({writes:,} resources) filed",
            round(took / 60, 1),
            "min",
            "< 60 min",
            took < 3600 and not result.stopped,
        ),
        Figure(
            "back-entry: resources written and read back per second",
            round(resources_s, 1),
            "resources/s",
            ">= 0.5 × the EHR's plain creates/s",
            resources_s >= 0.5 * capacity,
            baseline=round(capacity, 1),
            baseline_name="the same EHR's plain creates/s (POST /Observation, 4 threads)",
        ),
        Figure(
            "back-entry: entries per second",
            round(result.confirmed / took, 1),
            "entries/s",
            "reported",
            None,
        ),
        Figure("duplicates at the EHR", duplicated, "resources", "0", duplicated == 0),
        Figure("lost (not at the EHR)", lost, "resources", "0", lost == 0),
    ]
