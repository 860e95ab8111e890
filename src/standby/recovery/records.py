"""The records of back-entry's state and the reads over them (docs/recovery.md#state): the
statuses, one entry's row in `recovery_entries` (`BackEntry`), its changes of status in
`recovery_events` (`Event`), and the queries of the review queue and `standby recover
status`. The moves between statuses, each one write transaction, are in `state.py`, which
re-exports all of this: callers use `state.get`, `state.Status`, ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

from standby.clock import parse_instant
from standby.recovery import schema
from standby.store.base import Store


class Status(StrEnum):
    PENDING = "pending"
    HELD = "held"
    SENT = "sent"
    CONFIRMED = "confirmed"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    ENTERED_BY_HAND = "entered-by-hand"
    DISCARDED = "discarded"


#: Statuses a runner still works on.
OPEN = (Status.PENDING, Status.SENT)
#: Statuses that wait for a person (the review queue, or a registrar's match).
NEEDS_PERSON = (Status.CONFLICT, Status.REJECTED, Status.HELD)
#: Statuses nothing moves out of.
FINAL = (Status.CONFIRMED, Status.ENTERED_BY_HAND, Status.DISCARDED)


@dataclass(frozen=True, slots=True)
class Written:
    """One resource back-entry wrote (or found already written) in the EHR."""

    resource_type: str
    id: str
    version_id: str | None
    identifier: str  # the urn:uuid value it carries

    def as_json(self) -> dict[str, Any]:
        return {
            "resourceType": self.resource_type,
            "id": self.id,
            "versionId": self.version_id,
            "identifier": self.identifier,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Written:
        return cls(str(d["resourceType"]), str(d["id"]), d.get("versionId"), str(d["identifier"]))

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True, slots=True)
class BackEntry:
    entry_id: str
    kind: str
    patient_key: str  # the replica's patient id, or the registration's entry id
    performed_at: datetime
    status: Status
    attempts: int
    last_error: str | None
    outcome: dict[str, Any] | None  # the EHR's OperationOutcome (rejected, conflict)
    written: list[Written]
    enrolled_at: datetime
    first_sent_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None  # confirmed, or the review's outcome
    updated_at: datetime
    reviewed_by: str | None
    review_reason: str | None


@dataclass(frozen=True, slots=True)
class Event:
    entry_id: str
    at: datetime
    by: str
    from_status: Status | None
    to_status: Status
    detail: str | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What `enroll` needs of a journal entry."""

    entry_id: str
    kind: str
    patient_key: str
    performed_at: datetime


COLUMNS = (
    "entry_id, kind, patient_key, performed_at, status, attempts, last_error, outcome,"
    " written, enrolled_at, first_sent_at, sent_at, finished_at, updated_at, reviewed_by,"
    " review_reason"
)


def row(r: Sequence[Any]) -> BackEntry:
    return BackEntry(
        entry_id=r[0],
        kind=r[1],
        patient_key=r[2],
        performed_at=parse_instant(r[3]),
        status=Status(r[4]),
        attempts=int(r[5]),
        last_error=r[6],
        outcome=orjson.loads(r[7]) if r[7] else None,
        written=[Written.from_json(w) for w in orjson.loads(r[8])] if r[8] else [],
        enrolled_at=parse_instant(r[9]),
        first_sent_at=parse_instant(r[10]),
        sent_at=parse_instant(r[11]),
        finished_at=parse_instant(r[12]),
        updated_at=parse_instant(r[13]),
        reviewed_by=r[14],
        review_reason=r[15],
    )


# ---- reads -------------------------------------------------------------------------------
def get(store: Store, entry_id: str) -> BackEntry | None:
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(f"SELECT {COLUMNS} FROM recovery_entries WHERE entry_id = ?", (entry_id,))
    return row(rows[0]) if rows else None


def of_entries(store: Store, entry_ids: Iterable[str]) -> dict[str, BackEntry]:
    """The state of each of `entry_ids` that is enrolled."""
    schema.ensure(store)
    ids = list(entry_ids)
    out: dict[str, BackEntry] = {}
    with store.read_transaction() as db:
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = db.query(
                f"SELECT {COLUMNS} FROM recovery_entries WHERE entry_id IN"
                f" ({', '.join('?' * len(part))})",
                part,
            )
            for r in rows:
                b = row(r)
                out[b.entry_id] = b
    return out


def list_by_status(
    store: Store, status: Status | str, *, limit: int = 500, offset: int = 0
) -> list[BackEntry]:
    """Entries in one status, oldest performed first (the review queue's list)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT {COLUMNS} FROM recovery_entries WHERE status = ?"
            " ORDER BY performed_at, entry_id LIMIT ? OFFSET ?",
            (Status(status).value, limit, offset),
        )
    return [row(r) for r in rows]


def ids_in(store: Store, status: Status | str) -> set[str]:
    """The ids of every entry in one status."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT entry_id FROM recovery_entries WHERE status = ?", (Status(status).value,)
        )
    return {str(r[0]) for r in rows}


def open_patients(store: Store) -> list[str]:
    """The patients with entries a runner still has to send or confirm, in the order of
    their oldest such entry."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT patient_key, min(performed_at) AS first FROM recovery_entries"
            " WHERE status IN ('pending', 'sent', 'held') GROUP BY patient_key"
            " ORDER BY first, patient_key"
        )
    return [str(r[0]) for r in rows]


def events(store: Store, entry_id: str) -> list[Event]:
    """An entry's changes of status, oldest first."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT entry_id, at, by, from_status, to_status, detail FROM recovery_events"
            " WHERE entry_id = ? ORDER BY id",
            (entry_id,),
        )
    return [
        Event(r[0], parse_instant(r[1]), r[2], Status(r[3]) if r[3] else None, Status(r[4]), r[5])
        for r in rows
    ]


def counts(store: Store) -> dict[str, dict[str, int]]:
    """How many entries of each kind are in each status: {kind: {status: n}}."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT kind, status, count(*) FROM recovery_entries GROUP BY kind, status"
            " ORDER BY kind, status"
        )
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in rows:
        out.setdefault(str(kind), {})[str(status)] = int(n)
    return out


def totals(store: Store) -> dict[str, int]:
    """How many entries are in each status (every status listed, zeros included)."""
    out = {s.value: 0 for s in Status}
    for by_status in counts(store).values():
        for s, n in by_status.items():
            out[s] += n
    return out


@dataclass(frozen=True, slots=True)
class Timing:
    first_sent_at: datetime | None
    last_confirmed_at: datetime | None

    @property
    def took(self) -> timedelta | None:
        """From the first entry sent to the last confirmed: the time back-entry took."""
        if self.first_sent_at is None or self.last_confirmed_at is None:
            return None
        return self.last_confirmed_at - self.first_sent_at


def timing(store: Store) -> Timing:
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT min(first_sent_at),"
            " max(CASE WHEN status = 'confirmed' THEN finished_at END) FROM recovery_entries"
        )
    first, last = rows[0] if rows else (None, None)
    return Timing(parse_instant(first), parse_instant(last))
