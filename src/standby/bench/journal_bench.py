"""`standby bench journal` — how fast documentation written during downtime is saved.

20 clinicians (threads) each submit entries one after another for a fixed time through
`journal.repository.JournalWriter` (each returns only once its entry is durably
committed: SQLite `synchronous=FULL`, a PostgreSQL commit). Figures: entries per second
and p50/p95 from submit to confirmation, on SQLite, and on PostgreSQL when
STANDBY_TEST_POSTGRES_URL (or `database_url`) is set. Baseline, same run, same engine:
one bare durable INSERT per transaction of the same rows from one thread, no journal
code (the floor a commit costs). Goal (SQLite): p95 under 50 ms and at least 200 entries/s.

Seconds per engine: `STANDBY_BENCH_JOURNAL_SECONDS` (default 10 × scale, at least 5).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.store_bench import _postgres_url
from standby.journal import repository, schema
from standby.journal.entries import Entry, Kind, make_entry
from standby.store.base import Store

CLINICIANS = 20


def _entry(n: int, now: datetime) -> Entry:
    return make_entry(
        Kind.VITALS,
        patient_id=f"p{n % 300}",
        encounter_id=f"e{n % 300}",
        author=f"nurse{n % 20}",
        author_name=f"Nurse {n % 20}",
        role="nurse",
        node="bench",
        now=now,
        performed_at=now - timedelta(minutes=5),
        payload={"heart_rate": 60 + n % 40, "systolic": 120, "diastolic": 80, "spo2": 97},
    )


def _clinicians(store: Store, seconds: float) -> tuple[int, list[float]]:
    writer = repository.JournalWriter(store)
    latencies: list[list[float]] = [[] for _ in range(CLINICIANS)]
    stop = time.perf_counter() + seconds
    now = datetime.now(UTC)

    def clinician(i: int) -> None:
        n = i
        while time.perf_counter() < stop:
            e = _entry(n, now)
            start = time.perf_counter()
            writer.submit(e)
            latencies[i].append(time.perf_counter() - start)
            n += CLINICIANS

    threads = [threading.Thread(target=clinician, args=(i,)) for i in range(CLINICIANS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for lat in latencies for x in lat]
    return len(flat), flat


def _bare_inserts(store: Store, seconds: float) -> float:
    """Entries/s of one thread inserting the same rows, one durable commit each."""
    schema.ensure(store)
    now = datetime.now(UTC)
    stop = time.perf_counter() + seconds
    n = 0
    start = time.perf_counter()
    while time.perf_counter() < stop:
        e = _entry(n, now)
        row = repository.as_row(e)  # the journal's own row, without the journal's code
        row = (str(uuid.uuid4()), *row[1:])
        with store.durable_transaction() as db:
            db.execute(
                f"INSERT INTO journal_entries ({repository.COLUMNS})"
                f" VALUES ({', '.join('?' * len(row))})",
                row,
            )
        n += 1
    return n / (time.perf_counter() - start)


def _engine_figures(
    label: str, open_store: Callable[[], Store], seconds: float, progress: Progress, goal: bool
) -> list[Figure]:
    progress.step(f"{label}: bare durable inserts")
    store = open_store()
    try:
        floor = _bare_inserts(store, seconds / 2)
    finally:
        store.close()
    progress.step(f"{label}: {CLINICIANS} clinicians")
    store = open_store()
    try:
        count, lat = _clinicians(store, seconds)
    finally:
        store.close()
    rate = count / seconds
    p50, p95 = percentile(lat, 50) * 1000, percentile(lat, 95) * 1000
    return [
        Figure(
            f"{label}: entries saved per second, {CLINICIANS} clinicians",
            round(rate, 1),
            "entries/s",
            ">= 200 /s" if goal else "reported",
            rate >= 200 if goal else None,
            baseline=round(floor, 1),
            baseline_name="one thread, one bare durable INSERT per commit",
        ),
        Figure(
            f"{label}: submit to confirmation p50",
            round(p50, 2),
            "ms",
            "reported",
            None,
        ),
        Figure(
            f"{label}: submit to confirmation p95",
            round(p95, 2),
            "ms",
            "< 50 ms" if goal else "reported",
            p95 < 50 if goal else None,
            baseline=round(1000 / floor, 2) if floor else None,
            baseline_name="one bare durable commit (ms)",
        ),
    ]


@benchmark("journal")
def journal_bench(scale: float, progress: Progress) -> list[Figure]:
    seconds = float(os.environ.get("STANDBY_BENCH_JOURNAL_SECONDS", str(max(5.0, 10 * scale))))
    work = Path(tempfile.mkdtemp(prefix="standby-bench-journal-"))
    from standby.store.sqlite import SQLiteStore

    figures = _engine_figures(
        "SQLite", lambda: SQLiteStore(work / "journal.db"), seconds, progress, True
    )
    url = _postgres_url()
    if url:
        from standby.store.postgres import PostgresStore

        name = f"bench_{uuid.uuid4().hex[:12]}"
        figures += _engine_figures(
            "PostgreSQL", lambda: PostgresStore(url, schema=name), seconds, progress, False
        )
        pg = PostgresStore(url, schema=name)
        try:
            with pg.transaction() as tx:
                tx.execute(f'DROP SCHEMA "{name}" CASCADE')
        finally:
            pg.close()
    return figures
