"""Storage of what people decide about the schedule: overrides, the OR desk's entries,
call outcomes, accepted placements (docs/schedule.md#storage). Every write is one
transaction; the caller writes the audit line."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from standby.clock import instant, parse_instant
from standby.schedule import schema
from standby.schedule.rules import DECISIONS
from standby.schedule.triage import Override, Unavailable
from standby.store.base import Store

CALL_OUTCOMES = {
    "reached": "reached — told, and agreed",
    "voicemail": "voicemail left (no clinical details)",
    "no-answer": "no answer",
    "wrong-number": "wrong number",
    "unavailable-days": "reached — gave days they cannot come",
}


class RecordError(ValueError):
    """Input a person typed that cannot be stored: names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class Call:
    appointment_id: str
    patient_id: str
    outcome: str
    unavailable_days: tuple[date, ...]
    note: str
    by: str
    at: datetime

    @property
    def outcome_text(self) -> str:
        return CALL_OUTCOMES.get(self.outcome, self.outcome)


def record_override(
    store: Store,
    appointment_id: str,
    patient_id: str,
    decision: str,
    by_rules: str,
    reason: str,
    username: str,
    at: datetime,
) -> Override:
    if decision not in DECISIONS:
        raise RecordError("decision", f"must be one of {', '.join(DECISIONS)}")
    reason = reason.strip()
    if len(reason) < 3:
        raise RecordError("reason", "say why the rules' decision is overridden")
    if len(reason) > 500:
        raise RecordError("reason", "at most 500 characters")
    schema.ensure(store)
    with store.durable_transaction() as tx:
        tx.execute(
            "INSERT INTO schedule_decisions (appointment_id, patient_id, decision, by_rules,"
            " reason, username, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (appointment_id, patient_id, decision, by_rules, reason, username, instant(at)),
        )
    return Override(appointment_id, decision, reason, username, at)


def overrides(store: Store) -> dict[str, Override]:
    """The override in force for each appointment (the newest)."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT appointment_id, decision, reason, username, at FROM schedule_decisions"
            " ORDER BY seq"
        )
    return {r[0]: Override(r[0], r[1], r[2], r[3], parse_instant(r[4])) for r in rows}


def override_history(store: Store, appointment_id: str) -> list[tuple[Override, str]]:
    """Every override of one appointment, oldest first, each with what the rules said."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT appointment_id, decision, reason, username, at, by_rules"
            " FROM schedule_decisions WHERE appointment_id = ? ORDER BY seq",
            (appointment_id,),
        )
    return [(Override(r[0], r[1], r[2], r[3], parse_instant(r[4])), r[5]) for r in rows]


def add_unavailable(
    store: Store,
    kind: str,
    resource_id: str,
    name: str,
    start: datetime,
    end: datetime,
    note: str,
    username: str,
    at: datetime,
) -> Unavailable:
    if kind not in ("room", "person"):
        raise RecordError("kind", "must be room or person")
    if not resource_id:
        raise RecordError("resource", "choose a room or a person")
    if end <= start:
        raise RecordError("end", "must be after the start")
    if len(note) > 300:
        raise RecordError("note", "at most 300 characters")
    schema.ensure(store)
    u = Unavailable(str(uuid.uuid4()), kind, resource_id, name, start, end, note.strip(), username)
    with store.durable_transaction() as tx:
        tx.execute(
            "INSERT INTO schedule_unavailable (id, kind, resource_id, name, start_at, end_at,"
            " note, username, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                u.id,
                kind,
                resource_id,
                name,
                instant(start),
                instant(end),
                u.note,
                username,
                instant(at),
            ),
        )
    return u


def withdraw_unavailable(store: Store, entry_id: str, username: str, at: datetime) -> bool:
    schema.ensure(store)
    with store.durable_transaction() as tx:
        n = tx.execute(
            "UPDATE schedule_unavailable SET withdrawn_by = ?, withdrawn_at = ?"
            " WHERE id = ? AND withdrawn_at IS NULL",
            (username, instant(at), entry_id),
        )
    return n > 0


def unavailable(store: Store, since: datetime | None = None) -> list[Unavailable]:
    """The OR desk's entries in force (not withdrawn), ending after `since`."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT id, kind, resource_id, name, start_at, end_at, note, username"
            " FROM schedule_unavailable WHERE withdrawn_at IS NULL AND end_at > ?"
            " ORDER BY start_at, name",
            (instant(since) if since else "",),
        )
    return [
        Unavailable(r[0], r[1], r[2], r[3], parse_instant(r[4]), parse_instant(r[5]), r[6], r[7])
        for r in rows
    ]


def record_call(
    store: Store,
    appointment_id: str,
    patient_id: str,
    outcome: str,
    unavailable_days: Iterable[date],
    note: str,
    username: str,
    at: datetime,
) -> Call:
    if outcome not in CALL_OUTCOMES:
        raise RecordError("outcome", f"must be one of {', '.join(CALL_OUTCOMES)}")
    days = tuple(sorted(set(unavailable_days)))
    if outcome == "unavailable-days" and not days:
        raise RecordError("unavailable_days", "give the days the patient cannot come")
    if len(note) > 500:
        raise RecordError("note", "at most 500 characters")
    schema.ensure(store)
    with store.durable_transaction() as tx:
        tx.execute(
            "INSERT INTO schedule_calls (appointment_id, patient_id, outcome,"
            " unavailable_days, note, username, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                appointment_id,
                patient_id,
                outcome,
                ",".join(d.isoformat() for d in days),
                note.strip(),
                username,
                instant(at),
            ),
        )
    return Call(appointment_id, patient_id, outcome, days, note.strip(), username, at)


def calls(store: Store) -> dict[str, list[Call]]:
    """Every call per appointment, oldest first."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT appointment_id, patient_id, outcome, unavailable_days, note, username, at"
            " FROM schedule_calls ORDER BY seq"
        )
    out: dict[str, list[Call]] = {}
    for r in rows:
        days = tuple(date.fromisoformat(x) for x in r[3].split(",") if x)
        out.setdefault(r[0], []).append(
            Call(r[0], r[1], r[2], days, r[4], r[5], parse_instant(r[6]))
        )
    return out


def parse_days(text: str) -> list[date]:
    """`2026-12-01, 2026-12-03` → dates; RecordError naming the bad one."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(date.fromisoformat(part))
        except ValueError:
            raise RecordError("unavailable_days", f"{part!r} is not a date (YYYY-MM-DD)") from None
    return out


@dataclass(frozen=True, slots=True)
class AcceptedPlacement:
    proposal: str
    appointment_id: str
    patient_id: str
    room_id: str
    provider_id: str
    start: datetime
    end: datetime
    #: the Appointment's versionId in the replica when the placement was accepted (the
    #: version write-back sends `If-Match` on); None: the replica's copy had none
    base_version: str | None = None
    # the row, once stored (not part of what was placed: equality ignores them)
    seq: int = field(default=0, compare=False)
    accepted_at: datetime | None = field(default=None, compare=False)
    written_back_at: datetime | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """This acceptance's id in back-entry (docs/schedule.md#write-back)."""
        return f"appointment-rebook:{self.seq}"


def accept(
    store: Store, placements: Iterable[AcceptedPlacement], username: str, at: datetime
) -> int:
    """Keep accepted placements for the back-entry to write to the EHR (not done here)."""
    schema.ensure(store)
    n = 0
    with store.durable_transaction() as tx:
        for p in placements:
            tx.execute(
                "INSERT INTO schedule_accepted (proposal, appointment_id, patient_id, room_id,"
                " provider_id, start_at, end_at, username, at, base_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    p.proposal,
                    p.appointment_id,
                    p.patient_id,
                    p.room_id,
                    p.provider_id,
                    instant(p.start),
                    instant(p.end),
                    username,
                    instant(at),
                    p.base_version,
                ),
            )
            n += 1
    return n


def accepted(store: Store) -> list[AcceptedPlacement]:
    """Every accepted placement, oldest first."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT proposal, appointment_id, patient_id, room_id, provider_id, start_at,"
            " end_at, base_version, seq, at, written_back_at FROM schedule_accepted ORDER BY seq"
        )
    return [
        AcceptedPlacement(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            parse_instant(r[5]),
            parse_instant(r[6]),
            r[7],
            int(r[8]),
            parse_instant(r[9]),
            parse_instant(r[10]) if r[10] else None,
        )
        for r in rows
    ]


def to_write_back(store: Store) -> list[AcceptedPlacement]:
    """What write-back sends: per Appointment, the newest accepted placement (an earlier
    one was replaced by the scheduler's later decision), unless already written back."""
    newest: dict[str, AcceptedPlacement] = {}
    for a in accepted(store):
        newest[a.appointment_id] = a
    return [a for a in newest.values() if a.written_back_at is None]


def mark_written_back(store: Store, seq: int, at: datetime) -> bool:
    """The EHR holds this placement (read back): stamp it, once."""
    schema.ensure(store)
    with store.transaction() as tx:
        n = tx.execute(
            "UPDATE schedule_accepted SET written_back_at = ? WHERE seq = ?"
            " AND written_back_at IS NULL",
            (instant(at), seq),
        )
    return bool(n)
