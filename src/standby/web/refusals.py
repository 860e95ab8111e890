"""Watching refusals of patients outside a user's units: one user refused
`refusal_alert_count` different patients within `refusal_alert_seconds` (someone walking
patient ids by URL) raises an alert, written to the audit log as `refusal-alert` and shown
to the admins on the break-the-glass page (docs/roles.md#units-and-break-the-glass).

Counted in each worker process's memory: with several workers each counts its share, so
the alert comes at most `workers` times later; every refusal has its own audit line
anyway."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta


class RefusalWatch:
    def __init__(self, count: int, window: timedelta, max_users: int = 10_000) -> None:
        self.count = max(1, count)
        self.window = window
        self.max_users = max_users
        self._seen: dict[str, deque[tuple[datetime, str]]] = {}
        self._alerted: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def refused(self, username: str, patient_id: str, now: datetime) -> int:
        """Note a refusal; the number of different patients refused within the window
        when this one raises an alert (once per window per user), else 0."""
        with self._lock:
            seen = self._seen.get(username)
            if seen is None:
                if len(self._seen) >= self.max_users:
                    del self._seen[next(iter(self._seen))]
                seen = self._seen[username] = deque()
            seen.append((now, patient_id))
            while seen and now - seen[0][0] > self.window:
                seen.popleft()
            while len(seen) > 4 * self.count:  # enough to count past the threshold
                seen.popleft()
            distinct = len({pid for _, pid in seen})
            last = self._alerted.get(username)
            if distinct < self.count or (last is not None and now - last <= self.window):
                return 0
            self._alerted[username] = now
            return distinct
