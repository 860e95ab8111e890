"""`standby bench reports`: the whole hospital's downtime packets, and what they cost.

Figures (docs/reports.md#performance):

* wall time of one full generation (`standby.reports.regeneration.generate_all`: every unit's
  census, MARs, packets, forms and labels, and the OR and clinic schedules) on one core
  (goal: a 500-bed hospital in under 60 s);
* pages per second of that generation, beside a bare reportlab baseline measured in the
  same run: a document of the same page count with one plain table per page (goal: at
  least half the baseline's pages/s);
* peak memory (RSS) while generating (goal under 500 MB).

Scale: `--scale 1` is a 50-bed hospital; the issue's full size (500 beds) is `--scale 10`.
The hospital is generated once per size into `.cache/bench-reports/` and reused.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standby.bench.harness import Figure, PeakRSS, Progress, benchmark
from standby.bench.hospital import cached_replica

CACHE = Path(".cache") / "bench-reports"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _store(beds: int, progress: Progress) -> Path:
    """A SQLite replica of a generated hospital (cached per size)."""
    return cached_replica(CACHE, beds, progress, now=NOW)


def baseline_pages_per_second(pages: int) -> float:
    """Bare reportlab: `pages` pages, each one plain 30 × 6 table, built and saved."""
    from reportlab.lib.pagesizes import letter
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Table

    data = [[f"r{r}c{c} text" for c in range(6)] for r in range(30)]
    story: list[object] = []
    for i in range(pages):
        if i:
            story.append(PageBreak())
        story.append(Table(data))
    t = time.perf_counter()
    SimpleDocTemplate(io.BytesIO(), pagesize=letter).build(story)
    return pages / (time.perf_counter() - t)


@benchmark("reports")
def bench_reports(scale: float, progress: Progress) -> list[Figure]:
    from standby.reports.regeneration import generate_all
    from standby.store import open_store

    beds = max(10, int(50 * scale))
    db = _store(beds, progress)
    store = open_store(db=db)
    out = Path(tempfile.mkdtemp(prefix="standby-bench-reports-"))
    try:
        progress.step(f"generating every unit's packets ({beds} beds)")
        with PeakRSS() as rss:
            t = time.perf_counter()
            man = generate_all(
                store, out, NOW, data_as_of=NOW - timedelta(minutes=2), banner="DOWNTIME"
            )
            wall = time.perf_counter() - t
        patients = sum(u.patients for u in man.units)
        progress.step(f"baseline: bare reportlab, {man.pages} pages")
        base = baseline_pages_per_second(max(1, man.pages))
    finally:
        store.close()
        shutil.rmtree(out, ignore_errors=True)
    pps = man.pages / wall
    # the goal is for 500 beds: scale the time linearly to compare at smaller sizes
    at_500 = wall * 500 / beds
    return [
        Figure(
            f"packets: {beds} beds, {patients} patients, {man.pages} pages",
            wall,
            "s",
            "500 beds < 60 s",
            at_500 < 60 if beds < 500 else wall < 60,
        ),
        Figure("estimated wall time at 500 beds (linear)", at_500, "s", "< 60 s", at_500 < 60),
        Figure(
            "pages per second",
            pps,
            "pages/s",
            "≥ 50% of baseline",
            pps >= 0.5 * base,
            base,
            "bare reportlab, one table per page",
        ),
        Figure("peak memory while generating", rss.peak_mb, "MB", "< 500 MB", rss.peak_mb < 500),
        Figure("errors", float(len(man.errors)), "units", "0", not man.errors),
    ]
