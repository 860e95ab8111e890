"""What every page's header says about the data: "data as of", lag, sync health, and how
stale it is (amber beyond `stale_amber_seconds`, red beyond `stale_red_seconds`), plus the
downtime status for the banner. No patient data: the public status page shows the same.

"Data as of" and the sync's health come from `standby.sync.status.sync_health(store)`
(whose `data_as_of` is `standby.sync.status.data_as_of`, what the packets and the CLI say
too); the downtime state from `standby.monitor.status.current_status(store)`
(docs/web.md#the-header).

Whether the EHR answers is what was last observed, by the sync's last request or the
monitor's last probe round, whichever is newer (`standby.monitor.status.latest_observation`),
and it is worded with the downtime state the banner shows, so that the bar never reads as
"all is well" under a downtime banner (docs/monitor.md#reachability). On an edge node the
sync copies the central Standby, not the EHR: the bar then says whether *the central
Standby* answers, and the EHR's state is what the central node reports
(docs/edge-nodes.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from standby.edge.upstream import edge_of
from standby.monitor.status import DowntimeStatus, Reachability, current_status, latest_observation
from standby.store.base import Store
from standby.sync.status import SyncHealth, sync_health
from standby.web.times import ago, as_datetime

UNTIL_ENDED = "downtime continues until an incident commander ends it"


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
    ehr: Reachability = field(default_factory=lambda: Reachability(None, None, None))
    ehr_age_seconds: float | None = None  # now - ehr.at
    downtime_state: str | None = None  # the banner's state when the header was made
    drill: bool = False
    source: str = "EHR"  # what the sync copies from: the EHR, or on an edge node the central one

    @property
    def edge(self) -> bool:
        return self.source != "EHR"

    @property
    def label(self) -> str:
        return {"fresh": "current", "amber": "getting old", "red": "OLD"}[self.level]

    @property
    def ehr_words(self) -> str:
        """The EHR's reachability as the bar says it, in agreement with the banner: the
        EHR answering never reads as the end of a downtime only an incident commander can
        end. Empty when nothing has observed the EHR yet."""
        if self.ehr.answered is None:
            return ""
        checked = f"checked {ago(self.ehr_age_seconds)} ago"
        if not self.ehr.answered:
            return f"{self.source} not answering ({checked})"
        if self.edge:  # what the EHR does is the central node's to say (the edge banner)
            return f"{self.source} answering ({checked})"
        if self.drill:
            if self.downtime_state in ("downtime", "recovering"):
                return f"EHR answering ({checked}) — this is a drill; {UNTIL_ENDED}"
            return f"EHR answering ({checked}) — a drill simulates its outage"
        if self.downtime_state == "recovering":
            return f"EHR answering ({checked}) — recovery proposed; {UNTIL_ENDED}"
        if self.downtime_state == "downtime":
            return f"EHR answering Standby's checks ({checked}) — {UNTIL_ENDED}"
        return f"EHR answering ({checked})"


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
        self._source = "EHR"

    def header(self, store: Store, now: datetime, amber_s: float, red_s: float) -> DataHeader:
        health, source = self._read(store, now)
        return data_header(now, amber_s, red_s, health, downtime_status(store), source=source)

    def data_as_of(self, store: Store, now: datetime) -> datetime | None:
        """The header's "data as of" alone, without the monitor's status (a query that
        the header reads on every call): what every FHIR API answer carries."""
        health, _ = self._read(store, now)
        return as_datetime(health.data_as_of) if health is not None else None

    def _read(self, store: Store, now: datetime) -> tuple[SyncHealth | None, str]:
        with self._lock:
            fresh = time.monotonic() - self._at < self.ttl
            health, source = self._health, self._source
        if not fresh:
            health, source = read_health(store, now), read_source(store)
            with self._lock:
                self._at, self._health, self._source = time.monotonic(), health, source
        return health, source


def read_source(store: Store) -> str:
    """What this node's sync copies from, as the bar names it: "Central Standby" on an edge
    node (it has read a central node's status), else "EHR"."""
    try:
        return CENTRAL if edge_of(store) else "EHR"
    except Exception:  # the header must render even when the checkpoints cannot be read
        return "EHR"


CENTRAL = "Central Standby"


def data_header(
    now: datetime,
    amber_s: float,
    red_s: float,
    h: SyncHealth | None,
    downtime: DowntimeStatus | None = None,
    source: str = "EHR",
) -> DataHeader:
    """The header at `now` from the sync's health `h` as `read_health` gave it (None: it
    could not be read, so "data as of" is unknown) and the monitor's status (None: it could
    not be read)."""
    as_of = as_datetime(h.data_as_of) if h is not None else None
    age = None if as_of is None else max(0.0, (now - as_of).total_seconds())
    lag = h.lag_seconds if h is not None else None
    if age is None or age > red_s:
        level = "red"
    elif age > amber_s:
        level = "amber"
    else:
        level = "fresh"
    by_sync = Reachability(
        h.reachable if h is not None else None,
        as_datetime(h.last_contact_at) if h is not None else None,
        "sync",
    )
    by_monitor = downtime.observed if downtime is not None else Reachability(None, None, None)
    ehr = latest_observation(by_monitor, by_sync)
    ehr_age = None if ehr.at is None else max(0.0, (now - ehr.at).total_seconds())
    return DataHeader(
        ehr=ehr,
        ehr_age_seconds=ehr_age,
        downtime_state=downtime.state if downtime is not None else None,
        drill=downtime.drill if downtime is not None else False,
        data_as_of=as_of,
        age_seconds=age,
        lag_seconds=None if lag is None else float(lag),
        reachable=ehr.answered,
        errors_last_hour=h.errors_last_hour if h is not None else None,
        quarantined_last_hour=h.quarantined_last_hour if h is not None else None,
        level=level,
        known=as_of is not None,
        source=source,
    )


def downtime_status(store: Store) -> DowntimeStatus | None:
    """The monitor's DowntimeStatus (None when it cannot be read)."""
    try:
        return current_status(store)
    except Exception:  # never let the banner take a clinical page down
        return None
