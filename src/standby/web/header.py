"""What every page's header says about the data: "data as of", lag, sync health, and how
stale it is (amber beyond `stale_amber_seconds`, red beyond `stale_red_seconds`), plus the
downtime status for the banner. No patient data: the public status page shows the same.

Sync health comes from `standby.sync.status.sync_health(store)`; the downtime state from
`standby.monitor.status.current_status(store)` (docs/web.md#the-header).
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.store.base import Store
from standby.web.times import as_datetime


def _optional(module: str, name: str) -> Any:
    """A function of another package, or None when that package is not installed."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


_sync_health: Any = _optional("standby.sync.status", "sync_health")
_current_status: Any = _optional("standby.monitor.status", "current_status")


@dataclass(frozen=True)
class DataHeader:
    data_as_of: datetime | None
    age_seconds: float | None  # now - data_as_of
    lag_seconds: float | None  # as the sync reports it
    reachable: bool | None  # is the source EHR answering the sync
    errors_last_hour: int | None
    quarantined_last_hour: int | None
    level: str  # "fresh" | "amber" | "red"
    known: bool  # False: no sync status available (never synchronised / not wired)

    @property
    def label(self) -> str:
        return {"fresh": "current", "amber": "getting old", "red": "OLD"}[self.level]


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def read_health(store: Store, now: datetime) -> Any:
    """The sync's health (None when it cannot be read or the sync is not installed)."""
    if _sync_health is None:
        return None
    try:
        return _sync_health(store, now)
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
        self._health: Any = None

    def header(self, store: Store, now: datetime, amber_s: float, red_s: float) -> DataHeader:
        with self._lock:
            fresh = time.monotonic() - self._at < self.ttl
            health = self._health
        if not fresh:
            health = read_health(store, now)
            with self._lock:
                self._at, self._health = time.monotonic(), health
        return data_header(store, now, amber_s, red_s, health=health)


def data_header(
    store: Store, now: datetime, amber_s: float, red_s: float, *, health: Any = ...
) -> DataHeader:
    """The header at `now`; `health` as read by `read_health` (read here when not given)."""
    if health is ...:
        health = read_health(store, now)
    as_of = as_datetime(_get(health, "data_as_of")) if health is not None else None
    age = None if as_of is None else max(0.0, (now - as_of).total_seconds())
    lag = _get(health, "lag_seconds") if health is not None else None
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
        reachable=_get(health, "reachable") if health is not None else None,
        errors_last_hour=_get(health, "errors_last_hour") if health is not None else None,
        quarantined_last_hour=(
            _get(health, "quarantined_last_hour") if health is not None else None
        ),
        level=level,
        known=as_of is not None,
    )


def downtime_status(store: Store) -> Any:
    """The monitor's DowntimeStatus, or None when the monitor is not installed."""
    if _current_status is None:
        return None
    try:
        return _current_status(store)
    except Exception:  # never let the banner take a clinical page down
        return None
