"""The registrars' decisions: which EHR patient a downtime registration is (docs/recovery.md,
"Patient matching").

One decision per registration (its journal entry id): the EHR Patient id it is the same
person as, or None for "create new" (back-entry then files the registration as a new
Patient). Every decision and every change is kept, oldest first, in
`recovery_match_events` (who, when, what, why): the history the page shows, beside the
viewer's audit line. A decision may be changed until back-entry starts sending the
patient's entries: back-entry calls `freeze` first, and `decide` refuses afterwards.

Back-entry calls `decision`, `all_decisions` and `freeze`; the registrar's page calls
`decide` and `history`. Nothing here decides on its own: `decide` needs a person (`by`)
and a reason.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime

from standby.clock import instant, parse_instant
from standby.store.base import Migration, Store

NAMESPACE = "recovery-matches"
MIN_REASON_LENGTH = 5

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "the registrars' decision per downtime registration (EHR patient or new)",
        "CREATE TABLE recovery_match_decisions (registration_id TEXT PRIMARY KEY,"
        " ehr_patient_id TEXT, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL,"
        " reason TEXT NOT NULL, frozen_at TEXT)",
    ),
    Migration(
        2,
        "every decision and change of a match, oldest first",
        "CREATE TABLE recovery_match_events (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " registration_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,"
        " action TEXT NOT NULL, ehr_patient_id TEXT, reason TEXT NOT NULL);"
        " CREATE INDEX recovery_match_events_registration"
        " ON recovery_match_events (registration_id, id)",
        "CREATE TABLE recovery_match_events (id BIGSERIAL PRIMARY KEY,"
        " registration_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,"
        " action TEXT NOT NULL, ehr_patient_id TEXT, reason TEXT NOT NULL);"
        " CREATE INDEX recovery_match_events_registration"
        " ON recovery_match_events (registration_id, id)",
    ),
]

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the tables (once per store object)."""
    if store in _ready:
        return
    store.ensure_schema(NAMESPACE, MIGRATIONS)
    _ready.add(store)


class DecisionError(ValueError):
    """A decision that cannot be stored (no reason, no person, or frozen)."""


class DecisionFrozen(DecisionError):
    """Back-entry has started sending this patient's entries: the decision stands."""


@dataclass(frozen=True, slots=True)
class Decision:
    registration_id: str
    ehr_patient_id: str | None  # None: create a new patient in the EHR
    by: str  # the registrar's username
    at: datetime
    reason: str
    frozen_at: datetime | None = None  # when back-entry started sending; then unchangeable

    @property
    def create_new(self) -> bool:
        return self.ehr_patient_id is None


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    by: str
    action: str  # decided | changed | frozen
    ehr_patient_id: str | None
    reason: str


_COLUMNS = "registration_id, ehr_patient_id, decided_by, decided_at, reason, frozen_at"


def _decision(r: tuple[object, ...]) -> Decision:
    return Decision(
        registration_id=str(r[0]),
        ehr_patient_id=None if r[1] is None else str(r[1]),
        by=str(r[2]),
        at=parse_instant(str(r[3])),
        reason=str(r[4]),
        frozen_at=parse_instant(str(r[5])) if r[5] else None,
    )


def decision(store: Store, registration_id: str) -> Decision | None:
    """The decision on one registration (None: no registrar has decided yet)."""
    ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM recovery_match_decisions WHERE registration_id = ?",
            (registration_id,),
        )
    return _decision(rows[0]) if rows else None


def all_decisions(store: Store) -> dict[str, str | None]:
    """Registration id → EHR Patient id (None: create new), for every decided one."""
    ensure(store)
    with store.read_transaction() as db:
        rows = db.query("SELECT registration_id, ehr_patient_id FROM recovery_match_decisions")
    return {str(r[0]): None if r[1] is None else str(r[1]) for r in rows}


def decide(
    store: Store,
    registration_id: str,
    *,
    ehr_patient_id: str | None,
    by: str,
    reason: str,
    now: datetime,
) -> Decision:
    """Store a registrar's decision (or change it), with its event. DecisionError when
    `by` or `reason` is missing; DecisionFrozen once back-entry has started."""
    reason = " ".join(reason.split())
    if not by.strip():
        raise DecisionError("a decision names the registrar who made it")
    if len(reason) < MIN_REASON_LENGTH:
        raise DecisionError(
            f"state the reason for the decision (at least {MIN_REASON_LENGTH} characters)"
        )
    if not registration_id:
        raise DecisionError("a decision names the registration it is about")
    target = (ehr_patient_id or "").strip() or None
    if target is not None and target.startswith("Patient/"):
        target = target.removeprefix("Patient/")
    at = instant(now)
    ensure(store)
    with store.durable_transaction() as db:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM recovery_match_decisions WHERE registration_id = ?",
            (registration_id,),
        )
        if rows and rows[0][5]:
            raise DecisionFrozen(
                "back-entry has started sending this patient's entries: the decision "
                "can no longer be changed (a wrong match goes to the review queue)"
            )
        if rows:
            db.execute(
                "UPDATE recovery_match_decisions SET ehr_patient_id = ?, decided_by = ?,"
                " decided_at = ?, reason = ? WHERE registration_id = ?",
                (target, by, at, reason[:1000], registration_id),
            )
        else:
            db.execute(
                f"INSERT INTO recovery_match_decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)",
                (registration_id, target, by, at, reason[:1000]),
            )
        db.execute(
            "INSERT INTO recovery_match_events (registration_id, at, by, action,"
            " ehr_patient_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (registration_id, at, by, "changed" if rows else "decided", target, reason[:1000]),
        )
    return Decision(registration_id, target, by, parse_instant(at), reason[:1000])


def freeze(store: Store, registration_id: str, *, by: str, now: datetime) -> Decision:
    """Back-entry, before sending the patient's first entry: the decision can no longer
    change. DecisionError when no one has decided (back-entry must not send them)."""
    ensure(store)
    at = instant(now)
    with store.durable_transaction() as db:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM recovery_match_decisions WHERE registration_id = ?",
            (registration_id,),
        )
        if not rows:
            raise DecisionError(
                f"registration {registration_id}: no registrar has decided who this patient is"
            )
        if rows[0][5]:
            return _decision(rows[0])
        db.execute(
            "UPDATE recovery_match_decisions SET frozen_at = ? WHERE registration_id = ?",
            (at, registration_id),
        )
        db.execute(
            "INSERT INTO recovery_match_events (registration_id, at, by, action,"
            " ehr_patient_id, reason) VALUES (?, ?, ?, 'frozen', ?, ?)",
            (registration_id, at, by, rows[0][1], "back-entry started sending"),
        )
        row = (*rows[0][:5], at)
    return _decision(row)


def history(store: Store, registration_id: str) -> list[Event]:
    """Every decision, change and freeze of one registration, oldest first."""
    ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT at, by, action, ehr_patient_id, reason FROM recovery_match_events"
            " WHERE registration_id = ? ORDER BY id",
            (registration_id,),
        )
    return [
        Event(parse_instant(str(r[0])), str(r[1]), str(r[2]), r[3] and str(r[3]), str(r[4]))
        for r in rows
    ]
