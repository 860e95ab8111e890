"""Back-entry run twice at once, and killed: two runners on one replica (each patient under
one lease at a time), two nodes with overlapping journals against one EHR, and a runner
process SIGKILLed again and again before a last run finishes — zero duplicates at the EHR
(each identifier searched), zero lost."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from standby import clock
from standby.journal import repository
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.recovery import execute, state
from standby.recovery.execute import RunResult
from standby.recovery.plan import make_plan
from standby.store import open_store
from support.recovery_support import assert_exactly_once, count_type, make_site


def test_two_runners_on_one_replica_file_everything_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, patients=8)
    decided = dict.fromkeys(site.registrations())
    results: list[RunResult] = []
    lock = threading.Lock()

    def runner(name: str) -> None:
        store = open_store(db=tmp_path / "replica.db")  # its own connections, as a process
        try:
            with site.client() as client:
                r = execute.run(store, client, decisions_of=lambda s: decided, node=name, workers=2)
            with lock:
                results.append(r)
        finally:
            store.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    plan = site.plan()
    # what one runner found leased by the other is filed by the other (or by a run again)
    site.run()
    assert_exactly_once(site.base, plan)
    assert {k: v for k, v in state.totals(site.replica).items() if v} == {
        "confirmed": len(plan.steps)
    }
    assert sum(r.confirmed for r in results) <= len(plan.steps)
    for s in plan.steps[:40]:
        confirmations = [
            e for e in state.events(site.replica, s.entry_id) if e.to_status.value == "confirmed"
        ]
        assert len(confirmations) == 1
    assert count_type(site.base, "Provenance") == len(plan.steps)
    site.close()


def test_two_nodes_with_overlapping_journals_file_each_entry_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, patients=8, registrations=0)
    patients = sorted({e.patient_id for e in site.entries})
    a_patients, b_patients = set(patients[:5]), set(patients[3:])  # two shared
    nodes = []
    for name, chosen in (("a", a_patients), ("b", b_patients)):
        store = open_store(db=tmp_path / f"node-{name}.db")
        from standby.bench import backentry_journal as bj
        from support.recovery_support import HOSPITAL_AT

        bj.hospital(store, 8, at=HOSPITAL_AT)
        repository.append(store, [e for e in site.entries if e.patient_id in chosen])
        nodes.append(store)
        site.stores.append(store)
    errors: list[BaseException] = []

    def runner(store: object, name: str) -> None:
        try:
            with site.client() as client:
                execute.run(store, client, decisions_of=lambda s: {}, node=name)  # type: ignore[arg-type]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [
        threading.Thread(target=runner, args=(s, n)) for s, n in zip(nodes, "ab", strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    plan = make_plan(site.entries, seen={}, decisions={}, transactions=True)
    assert_exactly_once(site.base, plan)
    assert count_type(site.base, "Provenance") == len(plan.steps)
    for store in nodes:
        totals = state.totals(store)
        assert totals["confirmed"] == sum(totals.values())
    site.close()


def _progress(db: Path) -> int:
    """How many entries back-entry has marked sent or confirmed so far (read beside the
    runner, as another process would)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM recovery_events WHERE to_status IN ('sent', 'confirmed')"
            ).fetchone()[0]
        )
    except sqlite3.OperationalError:  # no table yet
        return 0
    finally:
        conn.close()


def _end_downtime(db: Path) -> None:
    store = open_store(db=db)
    try:
        cfg = MonitorConfig()
        downtime.declare(store, cfg, "ic", clock.now(), reason="test")
        downtime.confirm_end(store, cfg, "ic", clock.now())
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("single", [False, True], ids=["transactions", "single-requests"])
def test_a_runner_killed_again_and_again_files_everything_once(
    tmp_path: Path, single: bool
) -> None:
    site = make_site(tmp_path, patients=12, hours=12, registrations=0)
    db = tmp_path / "replica.db"
    _end_downtime(db)
    site.handle.set_faults(latency_ms=30)  # each run lasts long enough to be killed in
    env = {
        **os.environ,
        "STANDBY_DB": str(db),
        "STANDBY_SOURCE_URL": site.base,
        "STANDBY_RECOVERY_LEASE_SECONDS": "1",
        "STANDBY_RECOVERY_RATE": "0",
        "STANDBY_RECOVERY_ENTRIES_PER_TRANSACTION": "10",
    }
    cmd = [sys.executable, "-c", "from standby.cli.main import main; main()", "recover", "run"]
    if single:
        cmd.append("--single-requests")
    rng = random.Random(7)
    kills = runs = 0
    while kills < 5 and runs < 25:
        before = _progress(db)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        runs += 1
        give_up = time.monotonic() + 120  # a safety net, not a measurement
        while proc.poll() is None and _progress(db) <= before and time.monotonic() < give_up:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))  # killed at some point after it started sending
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
    assert kills == 5
    for _ in range(10):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            break
        time.sleep(1.1)  # a killed runner's lease ends
    assert done.returncode == 0, done.stderr
    plan = site.plan()
    assert_exactly_once(site.base, plan)
    assert count_type(site.base, "Provenance") == len(plan.steps)
    assert {k: v for k, v in state.totals(site.replica).items() if v} == {
        "confirmed": len(plan.steps)
    }
    site.close()


@pytest.mark.postgres
def test_two_runners_on_one_postgresql_replica_file_everything_once(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    from standby.bench import backentry_journal as bj
    from standby.store.postgres import PostgresStore
    from support.recovery_support import HOSPITAL_AT

    site = make_site(tmp_path, patients=6)
    url, schema = pg_schema
    first = PostgresStore(url, schema=schema)
    site.stores.append(first)
    bj.hospital(first, 6, at=HOSPITAL_AT)
    repository.append(first, site.entries)
    decided = dict.fromkeys(site.registrations())
    results: list[RunResult] = []
    lock = threading.Lock()

    def runner(name: str) -> None:
        store = PostgresStore(url, schema=schema)  # two nodes on one PostgreSQL replica
        try:
            with site.client() as client:
                r = execute.run(store, client, decisions_of=lambda s: decided, node=name)
            with lock:
                results.append(r)
        finally:
            store.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with site.client() as client:  # what one found leased by the other, if any
        execute.run(first, client, decisions_of=lambda s: decided, node="c")
    plan = site.plan()
    assert_exactly_once(site.base, plan)
    assert state.totals(first)["confirmed"] == len(plan.steps)
    assert sum(r.confirmed for r in results) <= len(plan.steps)
    site.close()
