"""`standby bench reports`: the whole hospital's downtime packets, and what they cost.

Figures (docs/performance.md, docs/reports.md#performance), each measured at the size the
run was given — a goal stated for 1,000 beds is met only by a run at 1,000 beds
(`--scale 20`); at other sizes the figure is printed and its goal left open:

* a declaration: every unit's census, MARs, packets, forms and labels and the OR and
  clinic schedules (`standby.reports.regeneration.generate_all(first=True)`), units in
  worker processes (one per core). Its wall time (goal: 1,000 beds < 30 s on 2 cores) and
  when every unit's census and MARs were out (goal: 1,000 beds < 15 s);
* pages per second of that generation per worker, beside a bare reportlab baseline
  measured in the same run on one core: a document of the same page count with one plain
  table per page (goal: at least half the baseline's pages/s); and pages per CPU-second
  of the declaration (generator and workers) beside the baseline's pages per CPU-second
  (on a shared machine wall time measures the other jobs; CPU time far less);
* regeneration after 1% of the inpatients changed (a new heart-rate observation each):
  only the units holding them (`generate_all(changed_only=True)`), and in those only the
  changed patients' pages drawn (the others' copied from the declaration:
  `standby.reports.page_cache`), beside a full regeneration of the same run, wall and
  CPU seconds (goal: < 5 s at 1,000 beds);
* peak memory (RSS) of the generator and its workers (goal under 500 MB per process).

Scale: `--scale 1` is a 50-bed hospital; 1,000 beds is `--scale 20`. The hospital is
generated once per size into `.cache/bench-reports/` and reused; each run works on a copy
(the changes are written into it).
"""

from __future__ import annotations

import io
import math
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, PeakRSS, Progress, benchmark
from standby.bench.hospital import cached_replica

CACHE = Path(".cache") / "bench-reports"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GOAL_BEDS = 1000


def _store(beds: int, progress: Progress) -> Path:
    """A SQLite replica of a generated hospital (cached per size)."""
    return cached_replica(CACHE, beds, progress, now=NOW)


def _copy(db: Path, into: Path) -> Path:
    """A copy of the cached replica this run may change (SQLite's online backup)."""
    from standby.store.encryption import connect

    out = into / "replica.db"
    src, dst = connect(db, None), connect(out, None)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return out


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the workers of a
    generation: its pool is shut down when it returns). On a shared machine the wall
    time says more about the other jobs than about the code; CPU time much less."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def baseline_pages_per_second(pages: int, clock: Any = time.perf_counter) -> float:
    """Bare reportlab: `pages` pages, each one plain 30 × 6 table, built and saved."""
    from reportlab.lib.pagesizes import letter
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Table

    data = [[f"r{r}c{c} text" for c in range(6)] for r in range(30)]
    story: list[object] = []
    for i in range(pages):
        if i:
            story.append(PageBreak())
        story.append(Table(data))
    t = clock()
    SimpleDocTemplate(io.BytesIO(), pagesize=letter).build(story)
    return pages / (clock() - t)


def change_patients(store: Any, patient_ids: list[str], when: datetime) -> None:
    """A new heart rate for each patient: what a sync round brings for them."""
    for pid in patient_ids:
        store.create(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": when.isoformat().replace("+00:00", "Z"),
                "valueQuantity": {
                    "value": 131,
                    "unit": "/min",
                    "system": "http://unitsofmeasure.org",
                    "code": "/min",
                },
            }
        )


def _at_goal_size(beds: int, ok: bool) -> bool | None:
    """A goal for 1,000 beds is met or missed only by a run at 1,000 beds."""
    return ok if beds >= GOAL_BEDS else None


@benchmark("reports")
def bench_reports(scale: float, progress: Progress) -> list[Figure]:
    from standby.reports.parallel import default_workers
    from standby.reports.regeneration import generate_all
    from standby.store import open_store

    beds = max(10, int(50 * scale))
    cached = _store(beds, progress)
    work = Path(tempfile.mkdtemp(prefix="standby-bench-reports-"))
    workers = default_workers()
    size = f"{beds} beds" + ("" if beds >= GOAL_BEDS else f" (goal is for {GOAL_BEDS}: --scale 20)")
    try:
        progress.step(f"copying the {beds}-bed replica")
        store = open_store(db=_copy(cached, work))
        out = work / "packets"
        as_of = NOW - timedelta(minutes=2)
        try:
            progress.step(f"declaration: every unit's packets ({beds} beds, {workers} workers)")
            with PeakRSS() as rss:
                t, c = time.perf_counter(), cpu_seconds()
                man = generate_all(store, out, NOW, data_as_of=as_of, banner="DOWNTIME", first=True)
                wall, cpu = time.perf_counter() - t, cpu_seconds() - c
            patients = sorted({p for u in man.units for p in u.patient_ids})
            k = max(1, math.ceil(len(patients) / 100))  # 1%, spread over the units
            changed = patients[:: max(1, len(patients) // k)][:k]
            progress.step(f"{len(changed)} of {len(patients)} inpatients change")
            change_patients(store, changed, NOW - timedelta(minutes=1))
            t, c = time.perf_counter(), cpu_seconds()
            inc = generate_all(
                store, out, NOW, data_as_of=as_of, banner="DOWNTIME", changed_only=True
            )
            inc_wall, inc_cpu = time.perf_counter() - t, cpu_seconds() - c
            progress.step("full regeneration of the same data (the incremental's baseline)")
            t, c = time.perf_counter(), cpu_seconds()
            full = generate_all(store, work / "full", NOW, data_as_of=as_of, banner="DOWNTIME")
            full_wall, full_cpu = time.perf_counter() - t, cpu_seconds() - c
        finally:
            store.close()
        progress.step(f"baseline: bare reportlab, {man.pages} pages")
        base = baseline_pages_per_second(max(1, man.pages))
        base_cpu = baseline_pages_per_second(max(1, man.pages), time.process_time)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pps = man.pages / wall / workers
    first = man.first_seconds or wall
    redone = len(inc.regenerated) if inc.regenerated is not None else len(inc.units)
    errors = len(man.errors) + len(inc.errors) + len(full.errors)
    return [
        Figure(
            f"declaration, every unit's packets: {size}, {len(patients)} patients, "
            f"{man.pages} pages, {workers} workers",
            wall,
            "s",
            f"{GOAL_BEDS} beds < 30 s",
            _at_goal_size(beds, wall < 30),
        ),
        Figure(
            f"declaration → every unit's census + MARs out ({len(man.units)} units)",
            first,
            "s",
            f"{GOAL_BEDS} beds < 15 s",
            _at_goal_size(beds, first < 15),
        ),
        Figure(
            "pages per second per worker",
            pps,
            "pages/s",
            "≥ 50% of baseline",
            pps >= 0.5 * base,
            base,
            "bare reportlab, one table per page, one core",
        ),
        Figure(
            f"pages per CPU-second of the declaration (generator and workers: {cpu:.1f} s)",
            man.pages / cpu if cpu else 0.0,
            "pages/s",
            "≥ 50% of baseline",
            bool(cpu) and man.pages / cpu >= 0.5 * base_cpu,
            base_cpu,
            "bare reportlab, one table per page, per CPU-second",
        ),
        Figure(
            f"regenerated after {len(changed)} of {len(patients)} patients changed "
            f"({redone} of {len(inc.units)} units redone, {inc.reused_pages} unchanged "
            "patients' pages copied from the last generation)",
            inc_wall,
            "s",
            f"{GOAL_BEDS} beds < 5 s",
            _at_goal_size(beds, inc_wall < 5),
            full_wall,
            "full regeneration, same data, same run",
        ),
        Figure(
            "the same, CPU seconds of the generator and its workers",
            inc_cpu,
            "s",
            "—",
            None,
            full_cpu,
            "full regeneration, same data, same run",
        ),
        Figure(
            "peak memory while generating (all processes)",
            rss.peak_mb,
            "MB",
            f"< {500 * (workers + 1)} MB",
            rss.peak_mb < 500 * (workers + 1),
        ),
        Figure("errors", float(errors), "units", "0", not errors),
    ]
