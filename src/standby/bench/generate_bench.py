"""`standby bench generate` — how fast the synthetic hospital is written (the goal: 1M
resources in under 2 minutes).

`--scale 1` generates 200 beds (~200,000 resources) and extrapolates the time for 1M;
`--scale 5` generates 1,000 beds, which is ~1M resources, and reports the real time.
Baseline, same run: `orjson.dumps` of as many small dicts, each written to a file
(the floor of any NDJSON writer in Python).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from standby.bench.harness import Figure, Progress, benchmark
from standby.sim.generate import generate_hospital

BEDS_AT_SCALE_1 = 200
GOAL_SECONDS = 120.0
MILLION = 1_000_000


def _baseline(n: int, path: Path) -> float:
    """Seconds to serialise and write `n` small dicts as NDJSON."""
    dumps = orjson.dumps
    start = time.perf_counter()
    with path.open("wb", buffering=1 << 20) as fh:
        for i in range(n):
            fh.write(dumps({"resourceType": "Observation", "id": f"ob{i}", "status": "final"}))
            fh.write(b"\n")
    return time.perf_counter() - start


@benchmark("generate")
def generate_bench(scale: float, progress: Progress) -> list[Figure]:
    beds = max(20, round(BEDS_AT_SCALE_1 * scale))
    work = Path(tempfile.mkdtemp(prefix="standby-bench-generate-"))
    try:
        progress.step(f"generating {beds} beds")
        start = time.perf_counter()
        counts = generate_hospital(
            beds, 1, work / "out", now=datetime(2026, 11, 28, 10, tzinfo=UTC)
        )
        seconds = time.perf_counter() - start
        total = sum(counts.values())
        progress.step(f"baseline: orjson.dumps of {total:,} small dicts")
        base_seconds = _baseline(total, work / "baseline.ndjson")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate = total / seconds
    base_rate = total / base_seconds
    for_million = seconds if total >= MILLION else MILLION / rate
    return [
        Figure("resources", total, "resources", f"{beds} beds", None),
        Figure(
            "generate rate",
            rate,
            "resources/s",
            f">= {MILLION / GOAL_SECONDS:,.0f}/s",
            rate >= MILLION / GOAL_SECONDS,
            base_rate,
            "orjson.dumps of small dicts",
        ),
        Figure(
            "seconds for 1M" + ("" if total >= MILLION else " (extrapolated)"),
            for_million,
            "s",
            f"< {GOAL_SECONDS:.0f} s",
            for_million < GOAL_SECONDS,
            MILLION / base_rate,
            "orjson.dumps of small dicts",
        ),
    ]
