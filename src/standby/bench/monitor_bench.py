"""`standby bench monitor` — how fast downtime is declared, and how often it is declared wrongly.

1. **Time to declaration** with the default settings (probe every 10 s, timeout 5 s, 3
   failed rounds): the simulated EHR is cut with its fault switch and each of 20 monitors
   (each with its own replica file) is watched until it declares downtime. The 20 trials
   run *concurrently* against one simulated EHR, each monitor started at a random phase of
   the probe interval before the cut, so one cut gives 20 independent trials in about a
   minute instead of twenty. `--scale` multiplies the number of trials. Goal: p50 and max
   under 60 s. Baseline: the analytic worst case (interval × failures + timeout).
2. **False declarations** in simulated hours of flapping: the pure state machine, with the
   default thresholds, is fed probe rounds every 10 s for 100 × scale simulated hours in
   which 5 % of probes are lost (failed, never three in a row: that would be an outage) and
   bursts of latency spikes put rounds over the threshold. Goal: 0.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.monitor import probes
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.runner import MonitorRunner
from standby.monitor.state import Health, Machine, State, Thresholds, observe
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


def flapping_hours(hours: int, seed: int = 6) -> tuple[int, int]:
    """(false declarations, rounds) over simulated hours of lost probes and latency spikes."""
    rng = random.Random(seed)
    th = Thresholds()
    interval = 10
    m = Machine()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    false_declarations = 0
    rounds = 0
    spike_left = 0
    fails_in_a_row = 0
    for _ in range(hours * 3600 // interval):
        at += timedelta(seconds=interval)
        if spike_left == 0 and rng.random() < 0.02:
            spike_left = rng.randint(1, 4)  # a burst of slow answers (up to 40 s)
        lost = rng.random() < 0.05 and fails_in_a_row < 2
        fails_in_a_row = fails_in_a_row + 1 if lost else 0
        latency = rng.uniform(2100, 9000) if spike_left else rng.uniform(40, 400)
        spike_left = max(0, spike_left - 1)
        results = [
            ProbeResult(
                name,
                kind,
                at,
                Health.FAILED
                if lost and name == "ehr-metadata"
                else (Health.SLOW if latency > 2000 else Health.OK),
                latency,
                "synthetic",
            )
            for name, kind in (("ehr-metadata", "fhir-metadata"), ("ehr-read", "fhir-read"))
        ]
        step = observe(m, probes.round_health(results, at), th)
        m = step.machine
        rounds += 1
        false_declarations += sum(t.to_state is State.DOWNTIME for t in step.transitions)
    return false_declarations, rounds


@benchmark("monitor")
def monitor_bench(scale: float, progress: Progress) -> list[Figure]:
    n = max(2, round(20 * scale))
    times, cfg, what = detection_trials(n, progress)
    bound = cfg.interval_s * cfg.thresholds.failures_to_declare + cfg.timeout_s
    p50, worst = percentile(times, 50), max(times)
    hours = max(1, round(100 * scale))
    progress.step(f"feeding the state machine {hours} simulated hours of flapping")
    false, rounds = flapping_hours(hours)
    return [
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
        Figure(
            f"false declarations in {hours} simulated hours ({rounds} rounds)",
            false,
            "declarations",
            "0",
            false == 0,
        ),
    ]
