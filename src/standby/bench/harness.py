"""Benchmarks print figures beside a baseline measured in the same run.

A benchmark is a function `(scale: float, progress: Progress) -> list[Figure]` registered
under a name with `@benchmark("name")`. `scale` 1.0 is the default size (a few minutes on
two cores); the issue's full size is usually `--scale` 10 or so, as each bench documents.
Benchmarks are not tests: they assert nothing, they report `met` against their goal.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import psutil


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    goal: str
    met: bool | None
    baseline: float | None = None
    baseline_name: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        return d


class Progress:
    """What a benchmark may report while it runs (a rich progress bar, or nothing)."""

    def __init__(
        self, update: Callable[[str], None] | None = None, minutes: float | None = None
    ) -> None:
        self._update = update or (lambda _msg: None)
        self.minutes = minutes  # `--minutes`: how long a bench that runs for a time runs

    def step(self, message: str) -> None:
        self._update(message)


BenchFn = Callable[[float, Progress], list[Figure]]
REGISTRY: dict[str, BenchFn] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    def wrap(fn: BenchFn) -> BenchFn:
        REGISTRY[name] = fn
        return fn

    return wrap


def load_all() -> dict[str, BenchFn]:
    """Every benchmark by name. The modules that define them are imported here, when a
    benchmark is about to run (they import this module, and load the whole stack)."""
    from standby.bench import (  # noqa: F401  (each registers its benchmarks)
        backentry_bench,
        edge_bench,
        fhir_bench,
        generate_bench,
        hl7_bench,
        journal_bench,
        journal_load_bench,
        monitor_bench,
        postgres_ingest_bench,
        reports_bench,
        schedule_bench,
        soak_bench,
        store_bench,
        sync_bench,
        web_bench,
    )

    return REGISTRY


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as t: ...` then `t[0]` is the elapsed seconds."""
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)


class PeakRSS:
    """Samples this process's RSS (and its children's) in a thread; `.peak_mb` after."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_bytes = 0

    def _run(self) -> None:
        proc = psutil.Process(os.getpid())
        while not self._stop.is_set():
            try:
                rss = proc.memory_info().rss
                for child in proc.children(recursive=True):
                    rss += child.memory_info().rss
            except psutil.Error:
                rss = 0
            self.peak_bytes = max(self.peak_bytes, rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / (1024 * 1024)


def max_rss_mb_self() -> float:
    """Peak RSS of this process so far (getrusage), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
