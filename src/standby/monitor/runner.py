"""The probe loop: a thread started by `standby serve` and by `standby monitor run`.

Rounds run at a fixed rate (round k starts at start + k × interval, whatever the probes
took), the EHR's probes concurrently so that one timeout does not delay the others. With
the defaults (interval 10 s, timeout 5 s, 3 failed rounds) downtime is declared at most
about 35 s after the EHR stops answering. A second thread delivers the outbox; a packet
run for a new declaration gets a thread of its own. docs/monitor.md#probes
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from standby.clock import now
from standby.monitor import downtime, probes, schema
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.notify.channels import Channel
from standby.monitor.probes import Prober, ProbeResult, ProbeSpec, TokenProvider
from standby.monitor.state import Health, Round
from standby.monitor.status import current_status
from standby.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class MonitorRunner:
    store: Store
    cfg: MonitorConfig
    source_url: str | None
    token_provider: TokenProvider | None = None
    packet_hook: downtime.PacketHook | None = None
    clock: Callable[[], datetime] = now
    channels: dict[str, Channel] | None = None
    prune_every: int = 100
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    rounds: int = field(default=0, init=False)
    _packets: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        schema.ensure(self.store)
        c = self.cfg
        self.ehr_specs: list[ProbeSpec] = (
            probes.ehr_probes(
                self.source_url,
                interval_s=c.interval_s,
                timeout_s=c.timeout_s,
                latency_ms=c.latency_ms,
                read_path=c.read_path,
                token_url=c.token_url,
            )
            if self.source_url
            else []
        )
        self.extra_specs = [
            probes.parse_extra_probe(
                t, interval_s=c.interval_s, timeout_s=c.timeout_s, latency_ms=c.latency_ms
            )
            for t in c.extra_probes
        ]
        self._extra_due: dict[str, float] = {s.name: 0.0 for s in self.extra_specs}
        self.prober = Prober(self.token_provider)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, len(self.ehr_specs) + len(self.extra_specs)),
            thread_name_prefix="standby-probe",
        )
        if self.channels is None:
            self.channels = self.cfg.channels()

    # ---- one round (tests and `standby monitor run --once` call it directly) ------------
    def run_once(self) -> downtime.Outcome:
        mono = time.monotonic()
        due = [s for s in self.extra_specs if self._extra_due[s.name] <= mono]
        for s in due:
            self._extra_due[s.name] = mono + s.interval_s
        specs = self.ehr_specs + due
        at = self.clock()
        futures = [self._pool.submit(self.prober.run, s, at) for s in specs]
        results: list[ProbeResult] = [f.result() for f in futures]
        rnd = probes.round_health(results, at)
        if not self.ehr_specs:  # no source to probe: only drills and manual declarations
            rnd = Round(at, Health.OK, "no EHR probes configured")
        outcome = downtime.apply_round(self.store, self.cfg, results, rnd)
        self.rounds += 1
        declared = outcome.declared or self._unpacketed_incident()
        if declared and declared not in self._packets:
            self._packets.add(declared)
            self._spawn(
                f"packets-{declared}",
                downtime.run_packets,
                self.store,
                self.packet_hook,
                declared,
                outcome.drill,
                self.clock,
            )
        downtime.queue_reminder(self.store, self.cfg, self.clock())
        if self.rounds % self.prune_every == 0:
            with self.store.transaction() as tx:
                probes.prune(tx, self.clock(), self.cfg.retention)
        return outcome

    def _unpacketed_incident(self) -> str | None:
        """A downtime declared elsewhere (the web page, a command) whose packets never ran."""
        if self.packet_hook is None:
            return None
        s = current_status(self.store)
        return s.incident_id if s.in_downtime else None

    def deliver(self) -> int:
        assert self.channels is not None
        return outbox.deliver_due(
            self.store,
            self.channels,
            now=self.clock,
            backoff=self.cfg.backoff,
            on_sent=lambda row: downtime.note_sent(self.store, row, self.clock()),
        )

    # ---- threads -------------------------------------------------------------------
    def _spawn(self, name: str, target: Callable[..., object], *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _probe_loop(self) -> None:
        start = time.monotonic()
        k = 0
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep probing whatever one round did
                log.exception("monitor round failed")
            k += 1
            next_at = start + k * self.cfg.interval_s
            delay = next_at - time.monotonic()
            if delay < 0:  # the round overran: skip the missed slots, keep the phase
                k += int(-delay // self.cfg.interval_s) + 1
                delay = start + k * self.cfg.interval_s - time.monotonic()
            self._stop.wait(max(0.0, delay))

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver()
            except Exception:
                log.exception("notification delivery failed")
            self._stop.wait(0.5)

    def start(self) -> MonitorRunner:
        self._spawn("standby-monitor", self._probe_loop)
        self._spawn("standby-notify", self._deliver_loop)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.prober.close()

    def __enter__(self) -> MonitorRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
