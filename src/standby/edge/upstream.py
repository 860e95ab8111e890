"""What an edge node knows of the central Standby it copies from, and what it tells staff.

The central node publishes `GET /status/node.json` (`standby.edge.routes`, public, no
patient data): its "data as of", its monitor's view of the EHR and whether its own sync
reaches the EHR. The edge node's sync reads it after every round and keeps the last answer
(a checkpoint). `edge_state` then tells apart, for the banner and `standby status`:

* `central-unreachable` — the edge's own last request to the central node failed: the
  data is as of the central node's last answer, whatever the EHR is doing;
* `ehr-down` — the central node answers and says the EHR is down (its monitor declared a
  downtime, or its sync does not reach the EHR): the data is as of the central node's;
* `ok` — both answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby import clock
from standby.monitor.status import current_status
from standby.store.base import Store
from standby.sync import status
from standby.sync.upstream import STATUS_PATH
from standby.sync.upstream import held as _held

__all__ = ["STATUS_PATH", "EdgeState", "edge_of", "edge_state", "node_status"]


def node_status(store: Store) -> dict[str, Any]:
    """What a node says of itself at `/status/node.json` (never patient data)."""
    health = status.sync_health(store)
    try:
        down = current_status(store)
    except Exception:  # a replica without the monitor's tables: nothing to say of the EHR
        down = None
    return {
        "data_as_of": clock.instant(health.data_as_of) if health.data_as_of else None,
        "ehr": {
            "state": down.state if down else None,
            "label": down.label if down else None,
            "since": clock.instant(down.since) if down and down.since else None,
            "in_downtime": bool(down and down.in_downtime),
        },
        "sync": {
            "reachable": health.reachable,
            "last_contact_at": (
                clock.instant(health.last_contact_at) if health.last_contact_at else None
            ),
            "lag_seconds": health.lag_seconds,
        },
        "edge_of": edge_of(store),
    }


def edge_of(store: Store) -> str | None:
    """The central node this node copies from (None: it is not an edge node)."""
    held = _held(store)
    return str(held.get("url")) if held else None


@dataclass(frozen=True)
class EdgeState:
    state: str  # ok | ehr-down | central-unreachable
    central: str  # the central node's FHIR base
    data_as_of: datetime | None  # this replica's (the central node's, as last copied)
    heard_at: datetime | None  # when the central node last answered its status
    ehr_label: str | None  # what the central node last said of the EHR

    @property
    def message(self) -> str:
        if self.state == "central-unreachable":
            said = f" It last said the EHR was {self.ehr_label}." if self.ehr_label else ""
            return (
                f"The central Standby ({self.central}) cannot be reached from this unit's "
                f"node; this node shows its own copy.{said}"
            )
        if self.state == "ehr-down":
            return (
                f"The central Standby ({self.central}) reports the EHR down "
                f"({self.ehr_label}); this node keeps its copy of the central node's data."
            )
        return f"Copy of the central Standby ({self.central})."


def _part(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def edge_state(store: Store) -> EdgeState | None:
    """None when this node is not an edge node (it never read a central node's status)."""
    held = _held(store)
    if not held:
        return None
    said = _part(held, "said")
    ehr, sync = _part(said, "ehr"), _part(said, "sync")
    health = status.sync_health(store)
    if health.reachable is False:
        state = "central-unreachable"
    elif ehr.get("in_downtime") or sync.get("reachable") is False:
        state = "ehr-down"
    else:
        state = "ok"
    label = ehr.get("label") or None
    if sync.get("reachable") is False and not ehr.get("in_downtime"):
        label = "unreachable from the central node's sync"
    return EdgeState(
        state=state,
        central=str(held.get("url") or ""),
        data_as_of=health.data_as_of,
        heard_at=clock.parse_instant(held.get("fetched_at")),
        ehr_label=label,
    )
