"""`ChangeFeed`: the clinical events that fill each step, and the patient flow that the
clock drives, handed out `n` resources at a time."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from standby.sim.changes.census import JSON, REFRESH_STEPS
from standby.sim.changes.clinical_events import ClinicalEvents
from standby.sim.changes.patient_flow import PatientFlow
from standby.store.base import Store

# (kind, weight): what fills a step once the patient flow due by now is handed out
EVENTS: list[tuple[str, int]] = [
    ("vitals", 52),
    ("lab", 16),
    ("administration", 20),
    ("appointment", 2),
    ("reschedule", 2),
]


class ChangeFeed(ClinicalEvents, PatientFlow):
    """Makes the changes a busy hospital's EHR would record, against `store`'s census."""

    def __init__(self, store: Store, seed: int, zone: tzinfo = UTC) -> None:
        super().__init__(store, seed, zone)
        self._steps = 0
        self._queue: deque[JSON] = deque()  # flow resources not yet handed out

    def step(self, n: int, now: datetime) -> list[JSON]:
        """`n` new or updated resources as of `now` (no `meta`: the store assigns it)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        if self._token is None:
            self._token = format(int(now.timestamp()), "x")
        if self._since is None:
            self._since = now.replace(minute=0, second=0, microsecond=0)
        if self._steps >= REFRESH_STEPS and not self._queue:
            self._steps = 0
        if self._steps == 0:
            self._refresh_census()
        self._steps += 1
        for group in self._flow(now):
            for res in group:
                if res["resourceType"] == "Encounter":
                    self._unwritten.add(res["id"])
                self._queue.append(res)
        out: list[JSON] = []
        while self._queue and len(out) < n:
            res = self._queue.popleft()
            self._unwritten.discard(res["id"])
            out.append(res)
        makers: dict[str, Callable[[datetime], list[JSON]]] = {
            "vitals": self._vitals,
            "lab": self._lab,
            "administration": self._administration,
            "appointment": self._appointment,
            "reschedule": self._reschedule,
        }
        weights = [w for _k, w in EVENTS]
        guard = 0
        while len(out) < n and guard < n * 20:
            guard += 1
            kind = self.rng.choices(EVENTS, weights)[0][0]
            out.extend(makers[kind](now)[: n - len(out)])
        return out
