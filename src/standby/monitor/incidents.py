"""Incidents: one per downtime (drills included), with timeline, role checklist and log.

The timeline and the log are one append-only table (`monitor_events`): state transitions,
probe evidence, who declared, messages queued and sent, the packet run, entries anyone on
the team adds (`kind = 'log'`), and the end. Nothing in it is ever updated or deleted.
The role checklist follows the hospital incident command system (HICS): commander,
operations, planning, logistics and an IT liaison; its items are editable per incident.
docs/monitor.md#incidents
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from standby.clock import instant, parse_instant
from standby.monitor import schema
from standby.store.base import Store, Transaction

ROLES = ("commander", "operations", "planning", "logistics", "it-liaison")

DEFAULT_CHECKLIST: dict[str, tuple[str, ...]] = {
    "commander": (
        "Confirm the downtime and its scope (which systems, which sites)",
        "Assign the command team roles",
        "Approve the message to staff and post it as a broadcast",
        "Confirm the end of downtime only when IT confirms the EHR is ready",
    ),
    "operations": (
        "Confirm every unit has its downtime packet",
        "Switch units to downtime documentation",
        "Check that time-critical medications and results are covered",
    ),
    "planning": (
        "Keep the incident log",
        "Estimate the duration with IT; plan the next four hours",
        "Plan staffing for back-entry after recovery",
    ),
    "logistics": (
        "Deliver paper forms, printers and runners where needed",
        "Check the downtime computers and Standby viewers work",
    ),
    "it-liaison": (
        "Open the vendor ticket and record its number in the log",
        "Report the EHR's status to the commander every 30 minutes",
        "Confirm the EHR is ready before the end is confirmed",
    ),
}


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    drill: bool
    declared_at: datetime
    declared_by: str
    how: str  # "automatic" | "manual"
    outage_started_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    first_packet_at: datetime | None
    first_documentation_at: datetime | None

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    incident_id: str | None
    at: datetime
    kind: str
    actor: str
    text: str


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    position: int
    role: str
    item: str
    done: bool
    done_by: str | None
    done_at: datetime | None


def new_id(at: datetime, drill: bool) -> str:
    prefix = "DRILL" if drill else "INC"
    return f"{prefix}-{at.strftime('%Y%m%d-%H%M')}-{secrets.token_hex(2)}"


def open_incident(
    tx: Transaction,
    *,
    at: datetime,
    declared_by: str,
    how: str,
    drill: bool,
    outage_started_at: datetime | None,
) -> str:
    incident_id = new_id(at, drill)
    tx.execute(
        "INSERT INTO monitor_incidents (id, drill, declared_at, declared_by, how, "
        "outage_started_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            incident_id,
            int(drill),
            instant(at),
            declared_by,
            how,
            None if outage_started_at is None else instant(outage_started_at),
        ),
    )
    position = 0
    for role in ROLES:
        for item in DEFAULT_CHECKLIST[role]:
            tx.execute(
                "INSERT INTO monitor_checklist (incident_id, position, role, item, done) "
                "VALUES (?, ?, ?, ?, 0)",
                (incident_id, position, role, item),
            )
            position += 1
    return incident_id


def close_incident(tx: Transaction, incident_id: str, at: datetime, actor: str) -> None:
    tx.execute(
        "UPDATE monitor_incidents SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
        (instant(at), actor, incident_id),
    )


def set_first(tx: Transaction, incident_id: str, column: str, at: datetime) -> None:
    """Record the first packet or first documentation time (only the first one counts)."""
    if column not in ("first_packet_at", "first_documentation_at"):
        raise ValueError(column)
    tx.execute(
        f"UPDATE monitor_incidents SET {column} = ? WHERE id = ? AND {column} IS NULL",
        (instant(at), incident_id),
    )


def append(
    tx: Transaction, incident_id: str | None, at: datetime, kind: str, actor: str, text: str
) -> None:
    """Append one event to the timeline (append-only: there is no update or delete)."""
    tx.execute(
        "INSERT INTO monitor_events (incident_id, at, kind, actor, text) VALUES (?, ?, ?, ?, ?)",
        (incident_id, instant(at), kind, actor, text),
    )


def add_log_entry(store: Store, incident_id: str, at: datetime, actor: str, text: str) -> None:
    """Anyone on the team adds to the incident's log."""
    text = text.strip()
    if not text:
        raise ValueError("a log entry needs text")
    schema.ensure(store)
    with store.transaction() as tx:
        if not tx.query("SELECT 1 FROM monitor_incidents WHERE id = ?", (incident_id,)):
            raise KeyError(incident_id)
        append(tx, incident_id, at, "log", actor, text[:4000])


_COLUMNS = (
    "id, drill, declared_at, declared_by, how, outage_started_at, ended_at, ended_by, "
    "first_packet_at, first_documentation_at"
)


def _incident(row: tuple[object, ...]) -> Incident:
    (iid, drill, declared_at, declared_by, how, outage, ended_at, ended_by, pkt, doc) = row
    return Incident(
        str(iid),
        bool(drill),
        parse_instant(str(declared_at)),
        str(declared_by),
        str(how),
        parse_instant(outage),  # type: ignore[call-overload]
        parse_instant(ended_at),  # type: ignore[call-overload]
        None if ended_by is None else str(ended_by),
        parse_instant(pkt),  # type: ignore[call-overload]
        parse_instant(doc),  # type: ignore[call-overload]
    )


def get(store: Store, incident_id: str) -> Incident | None:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(f"SELECT {_COLUMNS} FROM monitor_incidents WHERE id = ?", (incident_id,))
    return _incident(rows[0]) if rows else None


def recent(store: Store, limit: int = 50) -> list[Incident]:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            f"SELECT {_COLUMNS} FROM monitor_incidents ORDER BY declared_at DESC LIMIT ?",
            (limit,),
        )
    return [_incident(r) for r in rows]


def timeline(store: Store, incident_id: str, kinds: tuple[str, ...] = ()) -> list[Event]:
    schema.ensure(store)
    sql = "SELECT id, incident_id, at, kind, actor, text FROM monitor_events WHERE incident_id = ?"
    params: list[str] = [incident_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params.extend(kinds)
    with store.read_transaction() as tx:
        rows = tx.query(sql + " ORDER BY id", params)
    return [Event(int(i), inc, parse_instant(at), k, a, t) for i, inc, at, k, a, t in rows]


def checklist(store: Store, incident_id: str) -> list[ChecklistItem]:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT position, role, item, done, done_by, done_at FROM monitor_checklist "
            "WHERE incident_id = ? ORDER BY position",
            (incident_id,),
        )
    return [ChecklistItem(int(p), r, i, bool(d), b, parse_instant(a)) for p, r, i, d, b, a in rows]


def set_item_done(
    store: Store, incident_id: str, position: int, done: bool, actor: str, at: datetime
) -> None:
    schema.ensure(store)
    with store.transaction() as tx:
        rows = tx.query(
            "SELECT role, item FROM monitor_checklist WHERE incident_id = ? AND position = ?",
            (incident_id, position),
        )
        if not rows:
            raise KeyError(f"{incident_id} checklist item {position}")
        tx.execute(
            "UPDATE monitor_checklist SET done = ?, done_by = ?, done_at = ? "
            "WHERE incident_id = ? AND position = ?",
            (
                int(done),
                actor if done else None,
                instant(at) if done else None,
                incident_id,
                position,
            ),
        )
        role, item = rows[0]
        append(
            tx,
            incident_id,
            at,
            "checklist",
            actor,
            f"{role}: {'done' if done else 'reopened'}: {item}",
        )


def edit_item(
    store: Store,
    incident_id: str,
    position: int | None,
    role: str,
    item: str,
    actor: str,
    at: datetime,
) -> int:
    """Change an item's text (position given) or add a new item to a role (position None)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    item = item.strip()
    if not item:
        raise ValueError("a checklist item needs text")
    schema.ensure(store)
    with store.transaction() as tx:
        if position is None:
            position = int(
                tx.query(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM monitor_checklist "
                    "WHERE incident_id = ?",
                    (incident_id,),
                )[0][0]
            )
            tx.execute(
                "INSERT INTO monitor_checklist (incident_id, position, role, item, done) "
                "VALUES (?, ?, ?, ?, 0)",
                (incident_id, position, role, item),
            )
            append(tx, incident_id, at, "checklist", actor, f"{role}: added: {item}")
        else:
            changed = tx.execute(
                "UPDATE monitor_checklist SET role = ?, item = ? WHERE incident_id = ? "
                "AND position = ?",
                (role, item, incident_id, position),
            )
            if not changed:
                raise KeyError(f"{incident_id} checklist item {position}")
            append(tx, incident_id, at, "checklist", actor, f"{role}: edited: {item}")
    return position
