"""`standby bench sync`, against the simulated EHR in its strict modes: for each of the
default, `no-export`, `no-type-search`, `no-history` and `all` (docs/simulated-ehr.md#strict-modes),
an empty replica is seeded with the default settings (`sync_seed_mode` `auto`: the plan
reads the CapabilityStatement and chooses), then kept fresh by census rounds every 5 s
while the simulated hospital's change feed writes 50 changes/s into the EHR; a watcher
notes when each change's version is in the replica (p95 over the window).

Seed time is from the first request (`/metadata`) to the end of the first census round,
which makes the per-patient pulls when the seed is `census`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from standby.bench.harness import Figure, Progress, percentile
from standby.settings import load_settings
from standby.sim.changes import ChangeFeed
from standby.sim.server import Strictness, run_in_thread
from standby.store.ingest import ingest_directory
from standby.store.sqlite import SQLiteStore
from standby.sync.runner import SyncRunner

MODES = ("", "no-export", "no-type-search", "no-history", "all")
INTERVAL_S = 5.0


@dataclass
class StrictRun:
    mode: str
    seed_method: str
    seed_seconds: float
    seeded: int  # resources in the replica after the seed
    latencies: list[float]
    never: int


def _label(mode: str) -> str:
    """The figure's suffix (no square brackets: the table reads them as markup)."""
    return f", simulated EHR --strict {mode}" if mode else ", simulated EHR default"


def run_mode(data: Path, work: Path, mode: str, seconds: float, rate: int) -> StrictRun:
    """One strict mode: seed an empty replica, then measure freshness for `seconds`."""
    name = mode or "default"
    src = SQLiteStore(work / f"ehr-{name}.db")
    ingest_directory(src, data)
    rep = SQLiteStore(work / f"replica-{name}.db")
    url, handle = run_in_thread(src, strict=Strictness.parse(mode))
    feed = ChangeFeed(src, seed=7)
    pending: dict[tuple[str, str], tuple[int, float]] = {}
    lat: list[float] = []
    lock = threading.Lock()
    stop, caught_up = threading.Event(), threading.Event()

    def churn() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            for r in feed.step(max(1, rate // 10), datetime.now(UTC)):
                sr = src.update(r)
                with lock:
                    pending.setdefault((sr.resource_type, sr.id), (int(sr.version_id), t0))
            stop.wait(max(0.0, 0.1 - (time.monotonic() - t0)))

    def watch() -> None:
        while not caught_up.is_set():
            with lock:
                items = list(pending.items())
            now = time.monotonic()
            for (rt, rid), (v, t) in items:
                held = rep.read(rt, rid)
                if held is not None and held.version_id.isdigit() and int(held.version_id) >= v:
                    with lock:
                        pending.pop((rt, rid), None)
                    lat.append(now - t)
            time.sleep(0.25)

    settings = load_settings(source_url=url, db=work / f"replica-{name}.db")
    runner = SyncRunner(settings, rep)
    try:
        t0 = time.perf_counter()
        plan = runner.prepare()
        runner.seed()
        runner.run_round()
        seed_seconds = time.perf_counter() - t0
        seeded = sum(rep.counts_by_type().values())
        threads = [threading.Thread(target=churn), threading.Thread(target=watch)]
        for t in threads:
            t.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r0 = time.monotonic()
            runner.run_round()
            time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - r0)))
        stop.set()
        threads[0].join()
        for _ in range(3):  # let the sync catch up after the feed stops
            runner.run_round()
        time.sleep(0.5)
        caught_up.set()
        threads[1].join()
    finally:
        runner.close()
        handle.stop()
    never = len(pending)
    src.close()
    rep.close()
    return StrictRun(mode, plan.seed, seed_seconds, seeded, lat, never)


def strict_figures(data: Path, work: Path, seconds: float, progress: Progress) -> list[Figure]:
    """Seed time and freshness against the simulated EHR in each strict mode."""
    figures: list[Figure] = []
    for mode in MODES:
        progress.step(f"simulated EHR{_label(mode)}: seed, then {seconds:.0f} s at 50 changes/s")
        run = run_mode(data, work, mode, seconds, 50)
        label = _label(mode)
        figures.append(
            Figure(
                f"seed by {run.seed_method}{label} ({run.seeded} resources)",
                round(run.seed_seconds, 1),
                "s",
                "",
                None,
            )
        )
        if run.latencies:
            p95 = percentile(run.latencies, 95)
            figures.append(Figure(f"freshness p95{label}", round(p95, 2), "s", "< 30 s", p95 < 30))
        figures.append(
            Figure(
                f"changes never in the replica{label} (all patients, census or not)",
                run.never,
                "changes",
                "",
                None,
            )
        )
    return figures
