"""Drills: the whole downtime flow, against the replica, labelled DRILL everywhere.

A drill starts with `start` (from the CLI or the incident page). While it runs, the
monitor reads the EHR's probe rounds as failed ("DRILL: simulated EHR outage"), so the
real detection path declares the downtime: the banner (DRILL) on every page, the packet
run with the DRILL banner, notifications — to `monitor_drill_recipients` only, unless the
drill was started with `notify_real`. Once declared, the real probe results count again,
so recovery is proposed when the EHR answers, and the incident commander ends the drill as
they would end a downtime. `report` then says how long each step took: time to detection,
time to first packet, time to first documentation (from the declaration to the drill's
first journal entry; "not available yet" while there is none). docs/monitor.md#drills
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from standby.monitor import downtime, incidents
from standby.monitor.after_action import NOT_YET, FirstDocumentation, duration
from standby.store.base import Store


@dataclass(frozen=True)
class DrillReport:
    incident_id: str
    started_at: datetime | None
    declared_at: datetime
    ended_at: datetime | None
    time_to_detection: str
    time_to_first_packet: str
    time_to_first_documentation: str

    def lines(self) -> list[str]:
        return [
            f"DRILL {self.incident_id}",
            f"  time to detection:           {self.time_to_detection}",
            f"  time to first packet:        {self.time_to_first_packet}",
            f"  time to first documentation: {self.time_to_first_documentation}",
            f"  ended:                       {self.ended_at or 'not yet'}",
        ]


def start(store: Store, actor: str, now: datetime, *, notify_real: bool = False) -> None:
    """Start a drill (refused during downtime or while another drill runs)."""
    downtime.start_drill(store, actor, now, notify_real=notify_real)


def cancel(store: Store, actor: str, now: datetime) -> None:
    downtime.cancel_drill(store, actor, now)


def report(
    store: Store, incident_id: str | None = None, documentation: FirstDocumentation | None = None
) -> DrillReport:
    """The figures of one drill (default: the latest). `documentation`, from the
    composition root, says when the drill's documentation began (`after_action.build`)."""
    if incident_id is None:
        drills = [i for i in incidents.recent(store, 200) if i.drill]
        if not drills:
            raise KeyError("no drill has been run")
        incident = drills[0]
    else:
        found = incidents.get(store, incident_id)
        if found is None or not found.drill:
            raise KeyError(f"no drill {incident_id}")
        incident = found
    start_at = incident.outage_started_at or incident.declared_at
    first = incident.first_documentation_at
    if documentation is not None:
        first = documentation(incident.declared_at, incident.ended_at, True)[0] or first
    return DrillReport(
        incident.id,
        incident.outage_started_at,
        incident.declared_at,
        incident.ended_at,
        duration(incident.outage_started_at, incident.declared_at),
        duration(start_at, incident.first_packet_at),
        duration(incident.declared_at, first)
        if first
        else f"{NOT_YET} (no entry documented in Standby during the drill)",
    )
