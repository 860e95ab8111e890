"""The live change feed: `standby.sim.changes.ChangeFeed` written into the store at a rate.

A background thread writes `rate` resources per second (in steps of at most ten per tick)
with `store.update`, so each gets a new versionId and lastUpdated, and keeps its own log of
(reference, versionId, changed_at) for freshness measurement (`GET /_admin/changes`): the
last `LOG_MAX` changes only, as tuples, so that a simulated EHR left running for days stays
the same size (the store itself keeps every version).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from standby.store import Store

LOG_MAX = 10_000  # about 8 minutes at 20 changes/s: a few MB, whatever the uptime


class Feed:
    def __init__(self, store: Store, *, rate: float, seed: int = 1, zone: tzinfo = UTC) -> None:
        from standby.sim.changes import ChangeFeed

        self.store = store
        self.rate = rate
        self.changes = ChangeFeed(store, seed, zone)
        self.log: deque[tuple[str, str, str]] = deque(maxlen=LOG_MAX)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        # called with what each step wrote (the interface engine sends it on as HL7 v2)
        self.on_written: list[Callable[[list[dict[str, Any]], datetime], None]] = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self, n: int, now: datetime | None = None) -> list[dict[str, Any]]:
        """Write `n` changes now; returns the log records written."""
        now = now or datetime.now(UTC)
        return self.write(self.changes.step(n, now), now)

    def lab_result(
        self, patient: str, loinc: str, value: float, flag: str, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Write one laboratory result of an inpatient now (a demo's critical potassium)."""
        now = now or datetime.now(UTC)
        return self.write(self.changes.lab_result(patient, loinc, value, flag, now), now)

    def write(self, resources: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Write `resources` as the EHR's changes; returns the log records written."""
        out = []
        written = []
        for res in resources:
            sr = self.store.update(res)
            written.append(res)
            rec = {
                "reference": f"{sr.resource_type}/{sr.id}",
                "versionId": sr.version_id,
                "changed_at": sr.last_updated,
            }
            out.append(rec)
        with self._lock:
            self.log.extend((r["reference"], r["versionId"], r["changed_at"]) for r in out)
        for listener in list(self.on_written):
            listener(written, now)
        return out

    def log_since(self, since: str | None) -> list[dict[str, Any]]:
        with self._lock:
            kept = [r for r in self.log if since is None or r[2] > since]
        return [{"reference": r, "versionId": v, "changed_at": at} for r, v, at in kept]

    def start(self) -> None:
        if self.rate <= 0 or self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="change-feed")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        owed = 0.0
        last = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            owed += (now - last) * self.rate
            last = now
            n = min(int(owed), 10)
            if n > 0:
                try:
                    self.step(n)
                except Exception:
                    self.errors += 1
                owed -= n
            self._stop.wait(max(0.01, min(0.2, 1 / self.rate)))
