"""Back-entry's state: where each journal entry stands on its way into the EHR
(docs/recovery.md#state).

    pending ──sent──▶ sent ──read back from the EHR──▶ confirmed
       │  ▲             ├──409/412, or changed at the source──▶ conflict ─┐
       │  │             └──other 4xx (OperationOutcome kept)──▶ rejected ─┤ review:
       ▼  │                                                              ├─▶ entered-by-hand
      held (a downtime registration waits for a registrar's match) ──────┴─▶ discarded (why)
                                                                          └─▶ pending (send again)

Every function here is one write transaction that moves an entry only from the statuses
the arrow allows (`UPDATE ... WHERE status IN (...)`), so two runners, a runner and a
reviewer, or a runner resumed after a kill can never move an entry backwards: a confirmed
entry is never sent again, a discarded one never filed. Every change is logged in
`recovery_events` with who made it.

Leases (`leases.py`) keep two runners from sending one patient at the same time; the
runs (`runs.py`) say when back-entry ran and what it did.

The review queue uses `list_by_status`, `get`, `events` and `set_outcome`; `standby recover
status` uses `counts` and `timing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

from standby.clock import instant, parse_instant
from standby.recovery import schema
from standby.store.base import Store, Transaction


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
#: What a reviewer may set, and from which statuses.
REVIEW_OUTCOMES: Mapping[Status, tuple[Status, ...]] = {
    Status.ENTERED_BY_HAND: (Status.CONFLICT, Status.REJECTED, Status.HELD),
    Status.DISCARDED: (Status.CONFLICT, Status.REJECTED, Status.HELD),
    Status.PENDING: (Status.CONFLICT, Status.REJECTED),  # send again (after a fix)
}


class TransitionRefused(ValueError):
    """A change the entry's current status does not allow (names both)."""


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


_COLUMNS = (
    "entry_id, kind, patient_key, performed_at, status, attempts, last_error, outcome,"
    " written, enrolled_at, first_sent_at, sent_at, finished_at, updated_at, reviewed_by,"
    " review_reason"
)


def _row(r: Sequence[Any]) -> BackEntry:
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


def _log(
    db: Transaction,
    entry_id: str,
    at: datetime,
    by: str,
    before: Status | None,
    after: Status,
    detail: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO recovery_events (entry_id, at, by, from_status, to_status, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (entry_id, instant(at), by, before.value if before else None, after.value, detail),
    )


def _current(db: Transaction, entry_id: str) -> Status | None:
    rows = db.query("SELECT status FROM recovery_entries WHERE entry_id = ?", (entry_id,))
    return Status(rows[0][0]) if rows else None


# ---- enrolment ---------------------------------------------------------------------------
def enroll(store: Store, entries: Iterable[Enrolment], now: datetime, by: str) -> int:
    """Add the entries not yet known as `pending` (known ones are left as they are: safe to
    call at every run, from every runner). Returns how many were added."""
    schema.ensure(store)
    added = 0
    with store.transaction() as db:
        for e in entries:
            n = db.execute(
                f"INSERT INTO recovery_entries ({_COLUMNS}) VALUES"
                " (?, ?, ?, ?, 'pending', 0, NULL, NULL, NULL, ?, NULL, NULL, NULL, ?, NULL, NULL)"
                " ON CONFLICT (entry_id) DO NOTHING",
                (
                    e.entry_id,
                    e.kind,
                    e.patient_key,
                    instant(e.performed_at),
                    instant(now),
                    instant(now),
                ),
            )
            if n:
                added += 1
                _log(db, e.entry_id, now, by, None, Status.PENDING)
    return added


# ---- the runner's moves ------------------------------------------------------------------
def _move(
    store: Store,
    entry_id: str,
    to: Status,
    allowed: Sequence[Status],
    now: datetime,
    by: str,
    *,
    sets: str = "",
    params: Sequence[Any] = (),
    detail: str | None = None,
) -> bool:
    schema.ensure(store)
    marks = ", ".join("?" * len(allowed))
    with store.transaction() as db:
        before = _current(db, entry_id)
        n = db.execute(
            f"UPDATE recovery_entries SET status = ?, updated_at = ?{sets}"
            f" WHERE entry_id = ? AND status IN ({marks})",
            (to.value, instant(now), *params, entry_id, *(s.value for s in allowed)),
        )
        if n:
            _log(db, entry_id, now, by, before, to, detail)
    return bool(n)


def mark_sent(store: Store, entry_id: str, now: datetime, by: str) -> bool:
    """About to send (pending or sent again → sent): one more attempt."""
    return _move(
        store,
        entry_id,
        Status.SENT,
        OPEN,
        now,
        by,
        sets=", attempts = attempts + 1, sent_at = ?, first_sent_at = coalesce(first_sent_at, ?)",
        params=(instant(now), instant(now)),
    )


def mark_confirmed(
    store: Store, entry_id: str, written: Sequence[Written], now: datetime, by: str
) -> bool:
    """Read back from the EHR by its identifier: filed. `written`: what the EHR holds."""
    doc = orjson.dumps([w.as_json() for w in written]).decode()
    return _move(
        store,
        entry_id,
        Status.CONFIRMED,
        OPEN,
        now,
        by,
        sets=", written = ?, finished_at = ?, last_error = NULL",
        params=(doc, instant(now)),
    )


def mark_conflict(
    store: Store,
    entry_id: str,
    error: str,
    now: datetime,
    by: str,
    *,
    outcome: Mapping[str, Any] | None = None,
) -> bool:
    """The EHR refused it as a conflict (409/412) or the resource changed at the source
    since the clinician saw it: nothing is overwritten; a person decides."""
    return _refused(store, entry_id, Status.CONFLICT, error, outcome, now, by)


def mark_rejected(
    store: Store,
    entry_id: str,
    error: str,
    now: datetime,
    by: str,
    *,
    outcome: Mapping[str, Any] | None = None,
) -> bool:
    """The EHR refused it for good (another 4xx): its OperationOutcome is kept."""
    return _refused(store, entry_id, Status.REJECTED, error, outcome, now, by)


def _refused(
    store: Store,
    entry_id: str,
    to: Status,
    error: str,
    outcome: Mapping[str, Any] | None,
    now: datetime,
    by: str,
) -> bool:
    doc = orjson.dumps(dict(outcome)).decode() if outcome is not None else None
    return _move(
        store,
        entry_id,
        to,
        OPEN,
        now,
        by,
        sets=", last_error = ?, outcome = ?",
        params=(error[:2000], doc),
        detail=error[:500],
    )


def mark_held(store: Store, entry_id: str, reason: str, now: datetime, by: str) -> bool:
    """Waits for a registrar's decision on the patient (a downtime registration)."""
    return _move(
        store,
        entry_id,
        Status.HELD,
        (Status.PENDING,),
        now,
        by,
        sets=", last_error = ?",
        params=(reason,),
        detail=reason,
    )


def release_held(store: Store, entry_id: str, now: datetime, by: str) -> bool:
    """The registrar has decided: the entry may be sent."""
    return _move(
        store, entry_id, Status.PENDING, (Status.HELD,), now, by, sets=", last_error = NULL"
    )


def record_error(store: Store, entry_id: str, error: str, now: datetime) -> None:
    """A failure that changes nothing (the EHR did not answer): kept as the last error;
    the entry stays where it is and is tried again at the next run."""
    schema.ensure(store)
    with store.transaction() as db:
        db.execute(
            "UPDATE recovery_entries SET last_error = ?, updated_at = ? WHERE entry_id = ?",
            (error[:2000], instant(now), entry_id),
        )


# ---- review (the review queue's functions) -----------------------------------------------
def set_outcome(
    store: Store,
    entry_id: str,
    status: Status | str,
    by: str,
    reason: str | None = None,
    *,
    now: datetime,
) -> BackEntry:
    """A reviewer's decision on an entry that waits for a person: `entered-by-hand`,
    `discarded` (a reason is required) or `pending` (send it again). Refuses
    (`TransitionRefused`, naming both statuses) a decision the entry's status does not
    allow: a confirmed entry is never reopened."""
    to = Status(status)
    if to not in REVIEW_OUTCOMES:
        raise TransitionRefused(
            f"{to.value} is not a review outcome: choose from "
            + ", ".join(s.value for s in REVIEW_OUTCOMES)
        )
    if to is Status.DISCARDED and not (reason or "").strip():
        raise TransitionRefused("discarding an entry needs a reason")
    if not by:
        raise TransitionRefused("a review outcome names who decided it")
    finished = ", finished_at = ?" if to in FINAL else ", finished_at = NULL"
    params: tuple[Any, ...] = (by, reason)
    if to in FINAL:
        params = (*params, instant(now))
    moved = _move(
        store,
        entry_id,
        to,
        REVIEW_OUTCOMES[to],
        now,
        by,
        sets=", reviewed_by = ?, review_reason = ?" + finished,
        params=params,
        detail=reason,
    )
    got = get(store, entry_id)
    if got is None:
        raise TransitionRefused(f"entry {entry_id} is not in back-entry")
    if not moved:
        raise TransitionRefused(
            f"entry {entry_id} is {got.status.value}: it cannot be set to {to.value}"
            f" (only from {', '.join(s.value for s in REVIEW_OUTCOMES[to])})"
        )
    return got


# ---- reads -------------------------------------------------------------------------------
def get(store: Store, entry_id: str) -> BackEntry | None:
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(f"SELECT {_COLUMNS} FROM recovery_entries WHERE entry_id = ?", (entry_id,))
    return _row(rows[0]) if rows else None


def of_entries(store: Store, entry_ids: Iterable[str]) -> dict[str, BackEntry]:
    """The state of each of `entry_ids` that is enrolled."""
    schema.ensure(store)
    ids = list(entry_ids)
    out: dict[str, BackEntry] = {}
    with store.read_transaction() as db:
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = db.query(
                f"SELECT {_COLUMNS} FROM recovery_entries WHERE entry_id IN"
                f" ({', '.join('?' * len(part))})",
                part,
            )
            for r in rows:
                b = _row(r)
                out[b.entry_id] = b
    return out


def list_by_status(
    store: Store, status: Status | str, *, limit: int = 500, offset: int = 0
) -> list[BackEntry]:
    """Entries in one status, oldest performed first (the review queue's list)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM recovery_entries WHERE status = ?"
            " ORDER BY performed_at, entry_id LIMIT ? OFFSET ?",
            (Status(status).value, limit, offset),
        )
    return [_row(r) for r in rows]


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
