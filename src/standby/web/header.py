"""What every page's header says about the data: "data as of", lag, sync health, and how
stale it is (amber beyond `stale_amber_seconds`, red beyond `stale_red_seconds`), plus the
downtime status for the banner. No patient data: the public status page shows the same.

"Data as of" and the sync's health come from `standby.sync.status.sync_health(store)`
(whose `data_as_of` is `standby.sync.status.data_as_of`, what the packets and the CLI say
too); the downtime state from `standby.monitor.status.current_status(store)`
(docs/web.md#the-header).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from standby.monitor.status import DowntimeStatus, current_status
from standby.store.base import Store
from standby.sync.status import SyncHealth, sync_health
from standby.web.times import as_datetime


@dataclass(frozen=True)
class DataHeader:
    data_as_of: datetime | None
    age_seconds: float | None  # now - data_as_of
    lag_seconds: float | None  # as the sync reports it
    reachable: bool | None  # is the source EHR answering the sync
    errors_last_hour: int | None
    quarantined_last_hour: int | None
    level: str  # "fresh" | "amber" | "red"
    known: bool  # False: unknown (an empty replica, or the sync status could not be read)

    @property
    def label(self) -> str:
        return {"fresh": "current", "amber": "getting old", "red": "OLD"}[self.level]


def read_health(store: Store, now: datetime) -> SyncHealth | None:
    """The sync's health (None when it cannot be read)."""
    try:
        return sync_health(store, now)
    except Exception:  # the header must render even when the sync status cannot be read
        return None


class HeaderCache:
    """The sync's health read at most once per `ttl` seconds of real time per process (three
    queries that every page would otherwise repeat); the header's age and colour are
    still worked out from each request's own clock."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = -1e9
        self._health: SyncHealth | None = None

    def header(self, store: Store, now: datetime, amber_s: float, red_s: float) -> DataHeader:
        with self._lock:
            fresh = time.monotonic() - self._at < self.ttl
            health = self._health
        if not fresh:
            health = read_health(store, now)
            with self._lock:
                self._at, self._health = time.monotonic(), health
        return data_header(now, amber_s, red_s, health)


def data_header(now: datetime, amber_s: float, red_s: float, h: SyncHealth | None) -> DataHeader:
    """The header at `now` from the sync's health `h` as `read_health` gave it (None: it
    could not be read, so "data as of" is unknown)."""
    as_of = as_datetime(h.data_as_of) if h is not None else None
    age = None if as_of is None else max(0.0, (now - as_of).total_seconds())
    lag = h.lag_seconds if h is not None else None
    if age is None or age > red_s:
        level = "red"
    elif age > amber_s:
        level = "amber"
    else:
        level = "fresh"
    return DataHeader(
        data_as_of=as_of,
        age_seconds=age,
        lag_seconds=None if lag is None else float(lag),
        reachable=h.reachable if h is not None else None,
        errors_last_hour=h.errors_last_hour if h is not None else None,
        quarantined_last_hour=h.quarantined_last_hour if h is not None else None,
        level=level,
        known=as_of is not None,
    )


def downtime_status(store: Store) -> DowntimeStatus | None:
    """The monitor's DowntimeStatus (None when it cannot be read)."""
    try:
        return current_status(store)
    except Exception:  # never let the banner take a clinical page down
        return None
