"""`standby bench monitor` — how fast downtime is declared, and how often it is declared wrongly.

1. **Time to declaration** with the default settings (probe every 10 s, timeout 5 s, 3
   failed rounds): the simulated EHR is cut with its fault switch and each of 20 monitors
   (each with its own replica file) is watched until it declares downtime. The 20 trials
   run *concurrently* against one simulated EHR, each monitor started at a random phase of
   the probe interval before the cut, so one cut gives 20 independent trials in about a
   minute instead of twenty. `--scale` multiplies the number of trials. Goal: p50 and max
   under 60 s. Baseline: the analytic worst case (interval × failures + timeout).
2. **False declarations** in the hard cases of `monitor_cases` (bursts of lost probes,
   minutes of slow answers, DNS flaps, the token endpoint down while FHIR answers), 100 ×
   scale simulated hours each, fed through the real rule (`round_health`, `observe`) with
   the default thresholds, beside the same rounds with an eager setting
   (`failures_to_declare=1`) that shows the figure can move. Goal: 0.
3. **Missed outages**: the same generator with real outages inserted; every one must be
   declared while it lasts. Goal: 0, beside the eager setting's misses.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standby.bench import monitor_cases
from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.monitor.config import MonitorConfig
from standby.monitor.runner import MonitorRunner
from standby.monitor.state import State, Thresholds
from standby.monitor.status import current_status
from standby.store import open_store


class _Endpoint:
    """Stand-in EHR (only when standby.sim is not installed): /metadata with a fault switch."""

    def __init__(self) -> None:
        self.outage = False
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if me.outage:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"resourceType": "CapabilityStatement"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"

    def set_faults(self, outage: bool) -> None:
        self.outage = outage


@contextmanager
def _simulated_ehr(work: Path) -> Iterator[tuple[str, Any, str]]:
    """(base URL, handle with set_faults(outage=...), what it is)."""
    try:
        from standby.sim import server as sim_server
    except ImportError:
        sim_server = None  # type: ignore[assignment]
    if sim_server is not None:
        run_in_thread = sim_server.run_in_thread
        store = open_store(db=work / "ehr.db")
        url, handle = run_in_thread(store)
        try:
            yield url, handle, "standby.sim (TCP resets in outage)"
        finally:
            handle.stop()
            store.close()
        return
    ep = _Endpoint()
    t = threading.Thread(target=ep.server.serve_forever, daemon=True)
    t.start()
    try:
        yield ep.url, ep, "stand-in endpoint (standby.sim not available)"
    finally:
        ep.server.shutdown()
        ep.server.server_close()


def detection_trials(n: int, progress: Progress) -> tuple[list[float], MonitorConfig, str]:
    cfg = MonitorConfig()  # the defaults
    with tempfile.TemporaryDirectory() as tmp, _simulated_ehr(Path(tmp)) as (url, ehr, what):
        runners = []
        for i in range(n):
            store = open_store(db=Path(tmp) / f"m{i}.db")
            runners.append(MonitorRunner(store, cfg, url, channels={}))
        rng = random.Random(6)
        progress.step(
            f"starting {n} monitors at random phases of the {cfg.interval_s:g} s interval"
        )
        offsets = sorted(rng.uniform(0, cfg.interval_s) for _ in range(n))
        t0 = time.monotonic()
        for off, r in zip(offsets, runners, strict=True):
            time.sleep(max(0.0, t0 + off - time.monotonic()))
            r.start()
        time.sleep(max(0.0, t0 + cfg.interval_s * 2 - time.monotonic()))  # all healthy first
        progress.step("cutting the simulated EHR (fault switch)")
        ehr.set_faults(outage=True)
        cut = time.monotonic()
        seen: dict[int, float] = {}
        deadline = cut + 180
        while len(seen) < n and time.monotonic() < deadline:
            for i, r in enumerate(runners):
                if i not in seen and current_status(r.store).state == State.DOWNTIME.value:
                    seen[i] = time.monotonic() - cut
            time.sleep(0.1)
        ehr.set_faults(outage=False)
        for r in runners:
            r.stop()
            r.store.close()
    missing = n - len(seen)
    return sorted(seen.values()) + [float("inf")] * missing, cfg, what


@benchmark("monitor")
def monitor_bench(scale: float, progress: Progress) -> list[Figure]:
    n = max(2, round(20 * scale))
    times, cfg, what = detection_trials(n, progress)
    bound = cfg.interval_s * cfg.thresholds.failures_to_declare + cfg.timeout_s
    p50, worst = percentile(times, 50), max(times)
    hours = max(1, round(100 * scale))
    eager = Thresholds(failures_to_declare=1, lost_rounds_tolerated=0)
    before = Thresholds(lost_rounds_tolerated=0)  # every lost probe fails its round
    figures = [
        Figure(
            f"time to declaration p50 ({n} trials, {what})",
            round(p50, 2),
            "s",
            "< 60 s",
            p50 < 60,
            round(bound, 2),
            "analytic worst case",
        ),
        Figure(
            f"time to declaration max ({n} trials)",
            round(worst, 2),
            "s",
            "< 60 s",
            worst < 60,
            round(bound, 2),
            "analytic worst case",
        ),
    ]
    for case in monitor_cases.CASES:
        progress.step(f"{hours} simulated hours of {case!r} through the real rule")
        ours = monitor_cases.false_declarations(case, hours, cfg.thresholds)
        old = monitor_cases.false_declarations(case, hours, before)
        too_eager = monitor_cases.false_declarations(case, hours, eager)
        figures.append(
            Figure(
                f"false declarations while the EHR answered, {case!r}, {hours} h "
                f"({ours.rounds} rounds; + {ours.silent} silent; every lost probe failing "
                f"its round: {old.declarations - old.silent} + {old.silent} silent)",
                ours.declarations - ours.silent,
                "declarations",
                "0",
                ours.declarations == ours.silent,
                too_eager.declarations,
                "failures_to_declare=1, lost_rounds_tolerated=0",
            )
        )
    progress.step(f"{hours} simulated hours of lost probes with real outages inserted")
    ours_missed = monitor_cases.outages(hours, cfg.thresholds)
    eager_missed = monitor_cases.outages(hours, eager)
    for kind, (count, missed) in ours_missed.items():
        figures.append(
            Figure(
                f"outages missed, {kind!r} ({count} outages of 2-30 min)",
                missed,
                "outages",
                "0",
                missed == 0,
                eager_missed[kind][1],
                "failures_to_declare=1, lost_rounds_tolerated=0",
            )
        )
    return figures
