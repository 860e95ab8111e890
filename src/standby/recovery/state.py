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
status` uses `counts` and `timing`. The records (`Status`, `BackEntry`, `Event`, ...) and
the reads are in `records.py`; this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from standby.clock import instant
from standby.recovery import schema
from standby.recovery.records import (
    COLUMNS,
    FINAL,
    NEEDS_PERSON,
    OPEN,
    BackEntry,
    Enrolment,
    Event,
    Status,
    Timing,
    Written,
    counts,
    events,
    get,
    ids_in,
    list_by_status,
    of_entries,
    open_patients,
    timing,
    totals,
)
from standby.store.base import Store, Transaction

__all__ = [
    "FINAL",
    "NEEDS_PERSON",
    "OPEN",
    "REVIEW_OUTCOMES",
    "BackEntry",
    "Enrolment",
    "Event",
    "Status",
    "Timing",
    "TransitionRefused",
    "Written",
    "counts",
    "enroll",
    "events",
    "get",
    "ids_in",
    "list_by_status",
    "mark_confirmed",
    "mark_conflict",
    "mark_held",
    "mark_rejected",
    "mark_sent",
    "of_entries",
    "open_patients",
    "record_error",
    "release_held",
    "set_outcome",
    "timing",
    "totals",
]

#: What a reviewer may set, and from which statuses.
REVIEW_OUTCOMES: Mapping[Status, tuple[Status, ...]] = {
    Status.ENTERED_BY_HAND: (Status.CONFLICT, Status.REJECTED, Status.HELD),
    Status.DISCARDED: (Status.CONFLICT, Status.REJECTED, Status.HELD),
    Status.PENDING: (Status.CONFLICT, Status.REJECTED),  # send again (after a fix)
}


class TransitionRefused(ValueError):
    """A change the entry's current status does not allow (names both)."""


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
                f"INSERT INTO recovery_entries ({COLUMNS}) VALUES"
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
