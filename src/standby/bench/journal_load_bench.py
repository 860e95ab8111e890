"""`standby bench journal-load` — the census and the summary with weeks of downtime
documentation in the journal, beside the same pages without a downtime.

A generated hospital of 300 beds (× scale), charted by the EHR up to NOW, and 4 weeks of
simulated downtime documentation of its beds up to NOW (`journal.simulate`: about 142,000
entries at 300 beds). Like with like, as a nurse sees it:

* without (the baseline): the hospital as the EHR charted it up to NOW, empty journal;
* with the journal: the replica a downtime declared at DECLARED (4 weeks before NOW)
  leaves — the same hospital without the vital signs, doses, notes and orders the EHR
  charted from the declaration on (`downtime_replica`) — and the journal after it.

So both show one set of the last 48 hours' readings and doses: the EHR's, or the
journal's. Both are read at NOW. Views alternate between the two replicas, so both see
the same noise of a shared machine:

* patient summary (`clinical.summary.build_summary`, every view built: no cache), p50 and
  p95 over 200 views of current inpatients drawn with repeats;
* census of the unit nearest 40 beds (`clinical.unit_census`, every row built), p95 of 40;
* first view: a new store object, a new summary cache (`ReadCache`) and nothing kept of
  the journal (kept entries and conversions dropped, as a freshly started viewer has;
  the operating system's file cache stays warm), then the census once and 20 patients'
  summaries once each; p95 over 10 rounds, in wall time and in CPU time of the thread;
* the pages the nurse sees: the viewer's summary page (200 views) and census page (40)
  served in-process over HTTP (ASGI), every view built, a downtime declared at DECLARED
  on both replicas, rounds alternating between them.

Goal: with the journal, no worse than 1.2× the baseline. The hospital and the replicas
are built once per size into `.cache/bench-journal-load/` and reused (named by the
journal's schema version; a copy built for an older version is copied and migrated, not
built again). With STANDBY_TEST_POSTGRES_URL (or `database_url`) the same
is measured on PostgreSQL (`journal_load_postgres`).
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica

CACHE = Path(".cache") / "bench-journal-load"
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # the hospital's and the journal's end
WEEKS = 4
DECLARED = NOW - timedelta(weeks=WEEKS)  # the downtime the journal documents
SEED = 1
GOAL = 1.2


def _replicas(beds: int, progress: Progress) -> tuple[Path, Path, int]:
    """(bare, with journal, entries): copies of the cached hospital, built once."""
    from standby.journal import adt, bulk_load, schema, simulate
    from standby.store import open_store

    src = cached_replica(CACHE, beds, progress, now=NOW)
    base = src.parent
    # named by the journal's schema version: a copy built by an older tree is copied
    # and migrated, never migrated in place (another tree may still read it)
    version = f"-j{max(m.version for m in schema.MIGRATIONS)}"
    bare, full = base / f"bare{version}.db", base / f"journal-{WEEKS}w-seed{SEED}{version}.db"
    older = {
        bare: _older_version(bare) or base / "bare.db",
        full: _older_version(full) or base / f"journal-{WEEKS}w-seed{SEED}.db",
    }
    count = base / f"journal-{WEEKS}w-seed{SEED}.count"
    for db, fill in ((bare, False), (full, True)):
        if db.is_file() and (not fill or count.is_file()):
            continue
        reuse = older[db].is_file() and (not fill or count.is_file())
        origin = older[db] if reuse else src
        progress.step(f"copying {origin.name} to {db.name}")
        tmp = db.with_suffix(".tmp")
        _sqlite_files(origin, tmp, shutil.copy)
        store = open_store(db=tmp)
        try:
            schema.ensure(store)
            adt.rebuild_placements(store)  # what an older tree did not keep
            if fill and not reuse:
                progress.step(f"simulating {WEEKS} weeks of downtime documentation")
                n = bulk_load.load(
                    store, simulate.simulate(store, weeks=WEEKS, beds=None, seed=SEED, end=NOW)
                )
                count.write_text(str(n))
        finally:
            store.close()
        _sqlite_files(tmp, db, Path.rename)
    return bare, full, int(count.read_text())


def _sqlite_files(src: Path, dst: Path, how: Callable[[Path, Path], object]) -> None:
    """A SQLite database and its WAL and shared-memory files, copied or moved by `how`."""
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(src) + suffix)
        if side.exists():
            how(side, Path(str(dst) + suffix))


def _older_version(db: Path) -> Path | None:
    """The same replica named by the newest older journal schema version (`…-jN.db`),
    if one was built: copied and migrated, it need not be built again."""
    stem, _, version = db.stem.rpartition("-j")
    if not version.isdigit():
        return None
    for v in range(int(version) - 1, 0, -1):
        got = db.with_name(f"{stem}-j{v}.db")
        if got.is_file():
            return got
    return None


def _migrated_copy(origin: Path, db: Path, progress: Progress) -> None:
    """`origin` copied to `db` (through a side file) and migrated to this tree's journal
    schema, what an older tree did not keep built again (the placements)."""
    from standby.journal import adt, schema
    from standby.store import open_store

    progress.step(f"copying {origin.name} to {db.name} and migrating it")
    tmp = db.with_suffix(".tmp")
    _sqlite_files(origin, tmp, shutil.copy)
    store = open_store(db=tmp)
    try:
        schema.ensure(store)
        adt.rebuild_placements(store)
    finally:
        store.close()
    _sqlite_files(tmp, db, Path.rename)


def _downtime_replicas(beds: int, progress: Progress) -> tuple[Path, Path, int]:
    """(the replica the EHR charted up to NOW with an empty journal, the replica a
    downtime declared at DECLARED leaves with the journal after it, entries): what a
    nurse's page shows at NOW without a downtime and in one (`downtime_replica`)."""
    from standby.bench import downtime_replica
    from standby.sim.generate import generate_hospital

    bare, full, entries = _replicas(beds, progress)
    dst = full.with_name(full.name.replace("journal-", "downtime-", 1))
    older = _older_version(dst)
    if not dst.is_file() and older is not None:
        _migrated_copy(older, dst, progress)
    if not dst.is_file():
        ndjson = full.parent / "ndjson"
        if not ndjson.is_dir() or not any(ndjson.glob("*.ndjson")):
            progress.step(f"generating the hospital of {beds} beds again (its NDJSON)")
            ndjson.mkdir(parents=True, exist_ok=True)
            generate_hospital(beds, 7, ndjson, now=NOW)
        downtime_replica.build(ndjson, full, dst, DECLARED, progress)
    return bare, dst, entries


def _alternate(
    fns: tuple[Callable[[int], Any], Callable[[int], Any]], n: int
) -> tuple[list[float], list[float]]:
    """Run view i on each store in turn (bare first on even i, second on odd), in ms."""
    out: tuple[list[float], list[float]] = ([], [])
    for i in range(n):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for k in order:
            t = time.perf_counter()
            fns[k](i)
            out[k].append((time.perf_counter() - t) * 1000)
    return out


def _figure(name: str, bare: list[float], full: list[float], p: int, goal: bool) -> Figure:
    value, base = percentile(full, p), percentile(bare, p)
    ratio = value / base if base else None
    return Figure(
        name,
        round(value, 2),
        "ms",
        f"≤ {GOAL}× without a downtime" if goal else "reported",
        (ratio is not None and ratio <= GOAL) if goal else None,
        baseline=round(base, 2),
        baseline_name="the EHR charted up to now, empty journal",
    )


def _mean_figure(name: str, bare: list[float], full: list[float]) -> Figure:
    value, base = sum(full) / len(full), sum(bare) / len(bare)
    return Figure(
        name,
        round(value, 2),
        "ms",
        "reported",
        None,
        baseline=round(base, 2),
        baseline_name="the EHR charted up to now, empty journal",
    )


Opener = Callable[[], Any]  # a new store on one of the two replicas


@benchmark("journal-load")
def journal_load_bench(scale: float, progress: Progress) -> list[Figure]:
    from standby.bench.store_bench import _postgres_url
    from standby.store import open_store

    beds = max(20, int(300 * scale))
    bare_db, full_db, entries = _downtime_replicas(beds, progress)
    figures = [
        Figure("journal entries (4 weeks, simulated)", float(entries), "entries", "reported", None)
    ]
    openers = (lambda: open_store(db=bare_db), lambda: open_store(db=full_db))
    figures += _measure("", openers, (bare_db, full_db), progress)
    url = _postgres_url()
    if url:
        from standby.bench import journal_load_postgres

        pg = journal_load_postgres.replicas(url, beds, bare_db, full_db, progress)
        figures += _measure("PostgreSQL: ", pg, (bare_db, full_db), progress)
    return figures


def _measure(
    engine: str, openers: tuple[Opener, Opener], dbs: tuple[Path, Path], progress: Progress
) -> list[Figure]:
    """Every figure on one engine: `openers` give a new store on the replica without a
    downtime (the baseline) and on the downtime's, with the journal."""
    from standby import clinical
    from standby.clinical.read_cache import ReadCache
    from standby.clinical.summary import build_summary
    from standby.journal import overlay as journal_overlay
    from standby.journal import summary_entries as journal_summary_entries

    stores = (openers[0](), openers[1]())
    try:
        units = clinical.units(stores[0])
        censuses = [(u, clinical.unit_census(stores[0], u.id, NOW)) for u in units]
        unit, census = min(censuses, key=lambda uc: (abs(len(uc[1].beds) - 40), -len(uc[1].beds)))
        pids = [b.patient.id for _, c in censuses for b in c.beds if b.patient is not None]
        rng = random.Random(3)
        sample = [rng.choice(pids) for _ in range(200)]
        for s in stores:  # warm both alike: the directory, the database's pages
            clinical.unit_census(s, unit.id, NOW)
            for pid in sample[:20]:
                build_summary(s, pid, NOW)

        progress.step(f"{engine}patient summary, every view built")
        s_bare, s_full = _alternate(
            (
                lambda i: build_summary(stores[0], sample[i], NOW),
                lambda i: build_summary(stores[1], sample[i], NOW),
            ),
            len(sample),
        )
        progress.step(f"{engine}census of {unit.alias} ({len(census.beds)} beds), every row built")
        c_bare, c_full = _alternate(
            (
                lambda i: clinical.unit_census(stores[0], unit.id, NOW),
                lambda i: clinical.unit_census(stores[1], unit.id, NOW),
            ),
            40,
        )
    finally:
        for s in stores:
            s.close()

    progress.step(f"{engine}first views: a new store and summary cache each round")
    first: dict[str, tuple[list[float], list[float]]] = {"census": ([], []), "summary": ([], [])}
    # and the CPU time of this thread (what the other jobs of a shared machine move least)
    cpu: dict[str, tuple[list[float], list[float]]] = {"census": ([], []), "summary": ([], [])}
    for r in range(10):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            # nothing kept from the rounds before (what a newly started viewer has), but
            # the operating system's cache of the database file
            journal_overlay.forget_kept()
            journal_summary_entries.forget_kept()
            store = openers[k]()
            try:
                cache = ReadCache(store, max_age=60)
                t, c = time.perf_counter(), time.thread_time()
                clinical.unit_census(store, unit.id, NOW, cache=cache)
                cpu["census"][k].append((time.thread_time() - c) * 1000)
                first["census"][k].append((time.perf_counter() - t) * 1000)
                for pid in sample[r * 20 : (r + 1) * 20]:
                    t, c = time.perf_counter(), time.thread_time()
                    cache.summary(pid, NOW)
                    cpu["summary"][k].append((time.thread_time() - c) * 1000)
                    first["summary"][k].append((time.perf_counter() - t) * 1000)
            finally:
                store.close()

    progress.step(f"{engine}the summary page and the census page over HTTP (in-process)")
    pages = _pages(openers, dbs, unit.id, sample)

    n = len(census.beds)
    e = engine
    return [
        _figure(f"{e}patient summary p50, every view built", s_bare, s_full, 50, False),
        _figure(f"{e}patient summary p95, every view built", s_bare, s_full, 95, True),
        _figure(f"{e}census of a {n}-bed unit p95, every row built", c_bare, c_full, 95, True),
        _figure(f"{e}patient summary p95, first view (nothing kept)", *first["summary"], 95, True),
        _figure(f"{e}census of a {n}-bed unit p95, first view", *first["census"], 95, True),
        _figure(f"{e}first view CPU: summary p95", *cpu["summary"], 95, True),
        _figure(f"{e}first view CPU: census p95", *cpu["census"], 95, True),
        _mean_figure(f"{e}first view CPU: census mean", *cpu["census"]),
        _figure(f"{e}summary PAGE p50 over HTTP, every view built", *pages["summary"], 50, False),
        _figure(f"{e}summary PAGE p95 over HTTP, every view built", *pages["summary"], 95, True),
        _figure(f"{e}census PAGE of the {n}-bed unit p50 over HTTP", *pages["census"], 50, False),
        _figure(f"{e}census PAGE of the {n}-bed unit p95 over HTTP", *pages["census"], 95, True),
    ]


def _pages(
    openers: tuple[Opener, Opener], dbs: tuple[Path, Path], unit_id: str, sample: list[str]
) -> dict[str, tuple[list[float], list[float]]]:
    """What the nurse sees: the viewer's summary and census pages served in-process
    (server time, as `standby bench web` measures it), its clock at NOW, a downtime
    declared at DECLARED on both replicas (the summary lists Standby's recent entries),
    every view built (no summary cache). Rounds alternate between the two replicas."""
    from standby.accounts import users
    from standby.bench.web_bench import PASSWORD, _ServerTimer
    from standby.monitor import downtime
    from standby.monitor.config import MonitorConfig
    from standby.monitor.status import current_status
    from standby.settings import load_settings
    from standby.web.app import create_app

    stores = [openers[0](), openers[1]()]
    try:
        servers = []
        for db, store in zip(dbs, stores, strict=True):
            users.add_user(store, "bench", PASSWORD, role="physician", units=["*"], now=NOW)
            if not current_status(store).in_downtime:
                downtime.declare(store, MonitorConfig(), "bench", DECLARED, reason="bench")
            settings = load_settings(db=db, summary_cache_seconds=0)
            servers.append(_ServerTimer(create_app(settings, store, clock=lambda: NOW)))
        out: dict[str, tuple[list[float], list[float]]] = {"summary": ([], []), "census": ([], [])}
        for k in (0, 1):  # warm both alike
            servers[k].run([f"/units/{unit_id}"] + [f"/patients/{p}" for p in sample[:20]])
        for r in range(10):
            for k in (0, 1) if r % 2 == 0 else (1, 0):
                paths = [f"/patients/{p}" for p in sample[r * 20 : (r + 1) * 20]]
                out["summary"][k].extend(servers[k].run(paths))
                out["census"][k].extend(servers[k].run([f"/units/{unit_id}"] * 4))
        return out
    finally:
        for store in stores:
            store.close()
