"""The review queue: the entries back-entry could not file by itself, and what a person
decides about each (docs/recovery.md#review-queue).

An entry waits for a person when the EHR refused it as a conflict (409/412: the
resource changed since the clinician saw it; nothing was overwritten), rejected it (its
OperationOutcome is kept), or when it belongs to a patient registered during the
downtime whom a registrar has not matched yet (held: decided on the registrar's page,
not here).

What a reviewer may do (each one a move of `state.set_outcome`, logged with who):

* **re-send after an edit**: the edit is a *correction* — a new journal entry naming the
  one it corrects (`corrects`), made by the reviewer, never a change to the original —
  and the entry goes back to `pending`; the correction is enrolled, so the next run of
  back-entry files it in the original's place. A transfer or discharge re-sent after a
  conflict names the Encounter version the reviewer saw in the EHR (`encounter_version`),
  so that it is filed over that version, and refused again if the EHR changed once more;
* **entered by hand**: someone typed it into the EHR; where, and by whom, is required;
* **discard**: it will not be filed; a reason is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind, make_entry
from standby.recovery import appointments, facts, state
from standby.recovery.plan import SEEN_VERSION_KEY, UPDATES, Step, make_plan
from standby.recovery.state import BackEntry, Status, TransitionRefused
from standby.store.base import Store
from standby.sync.http import FhirClient, SourceError

#: The statuses the queue lists, in the order of its sections.
QUEUE = (Status.CONFLICT, Status.REJECTED, Status.HELD)
#: Payload fields a reviewer does not edit (set by a form, or by this module).
FIXED_FIELDS = ("confirmed", "warnings_acknowledged", SEEN_VERSION_KEY, "request_id")
MIN_REASON = 5


class ReviewError(ValueError):
    """A review action that cannot be taken (names what is missing or wrong)."""


@dataclass(frozen=True)
class Item:
    """One entry of the queue, with what the clinician wrote and what would be sent."""

    backentry: BackEntry
    entry: Entry | None  # None: the journal no longer holds it (never expected)
    step: Step | None  # the writes back-entry would send for it
    corrections: list[Entry]  # corrections of it made so far (newest last)

    @property
    def target(self) -> str | None:
        """The EHR resource an update of this entry changes ("Encounter/123"), the one to
        fetch beside a conflict; None for entries that create resources."""
        if self.step is None:
            return appointments.target_of(self.backentry)
        for w in self.step.writes:
            if w.method == "PUT" and not w.is_provenance and w.target:
                return w.target if not w.target.startswith("urn:") else None
        e = self.entry
        enc = e.encounter_id if e is not None and e.kind in UPDATES else None
        if enc and not enc.startswith("journal-"):
            return f"Encounter/{enc}"
        return None

    def sent(self) -> list[dict[str, Any]]:
        """The resources that would be sent (Provenance last)."""
        if self.step is None:
            return []
        return [dict(w.resource) for w in self.step.writes]


def queue(store: Store, status: Status, *, limit: int = 500) -> list[BackEntry]:
    if status not in QUEUE:
        raise ReviewError(f"{status.value} is not a status the review queue lists")
    return state.list_by_status(store, status, limit=limit)


def item(store: Store, entry_id: str) -> Item | None:
    b = state.get(store, entry_id)
    if b is None:
        return None
    entry = journal.read(store, entry_id)
    step = None
    corrections: list[Entry] = []
    if entry is not None:
        mine = journal.for_patient(store, entry.patient_id)
        corrections = [e for e in mine if e.corrects == entry.id and e.kind is not Kind.STRIKE]
        regs = [e for e in mine if e.kind is Kind.REGISTRATION]
        plan = make_plan(
            mine,
            seen=facts.seen_versions(store, [entry]),
            decisions=dict.fromkeys(e.id for e in regs),
            transactions=False,
            drill=entry.drill,
        )
        # the original's own step (a corrected entry is planned as its correction)
        step = next((s for s in plan.steps if s.entry_id == entry_id), None)
        if step is None:
            alone = make_plan(
                [entry],
                seen=facts.seen_versions(store, [entry]),
                decisions=dict.fromkeys(e.id for e in regs),
                transactions=False,
                drill=entry.drill,
            )
            step = next((s for s in alone.steps if s.entry_id == entry_id), None)
    return Item(b, entry, step, corrections)


@dataclass(frozen=True)
class Fetched:
    resource: dict[str, Any] | None
    error: str | None  # why the EHR's current version could not be read


def fetch_current(client: FhirClient, target: str) -> Fetched:
    """The resource as the EHR holds it now (`GET [base]/Encounter/123`)."""
    try:
        return Fetched(client.get_json(target), None)
    except SourceError as e:
        return Fetched(None, f"the EHR did not give {target}: {e}")
    except ValueError as e:  # not JSON
        return Fetched(None, f"the EHR's answer for {target} is not FHIR JSON: {e}")


def editable(entry: Entry) -> dict[str, str]:
    """The payload fields a reviewer may change, as text."""
    return {
        k: "" if v is None else str(v)
        for k, v in entry.payload.items()
        if k not in FIXED_FIELDS and not isinstance(v, list | dict)
    }


def _value(original: Any, text: str) -> Any:
    """A field typed back, as the type the clinician's value had."""
    text = text.strip()
    if isinstance(original, bool):
        return text.lower() in ("true", "yes", "1")
    if isinstance(original, int | float) and text:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text  # make_entry names the field
        return int(number) if number.is_integer() and isinstance(original, int) else number
    return text


@dataclass(frozen=True)
class Reviewer:
    username: str
    name: str
    role: str
    node: str


def resend_after_edit(
    store: Store,
    entry_id: str,
    fields: Mapping[str, str],
    reason: str,
    by: Reviewer,
    now: datetime,
    *,
    correction_id: str | None = None,
    seen_version: str | None = None,
) -> Entry:
    """Write the correction and send the entry again (conflict or rejected → pending).
    `fields`: the edited payload fields (as typed); `seen_version`: the Encounter version
    the reviewer saw in the EHR (for a transfer or discharge). `correction_id`: the UUID
    the form carried, so that a form sent twice makes one correction. Raises
    `EntryError` for a payload that cannot be filed (naming the field), `ReviewError`
    or `TransitionRefused` for an entry that cannot be re-sent."""
    b = state.get(store, entry_id)
    original = journal.read(store, entry_id)
    if b is None or original is None:
        raise ReviewError(f"entry {entry_id} is not in back-entry")
    if b.status not in (Status.CONFLICT, Status.REJECTED):
        raise TransitionRefused(
            f"entry {entry_id} is {b.status.value}: only a conflict or a "
            "rejected entry is re-sent from the review queue"
        )
    if len(reason.strip()) < MIN_REASON:
        raise ReviewError(f"say what was changed and why (at least {MIN_REASON} characters)")
    payload: dict[str, Any] = dict(original.payload)
    for k, text in fields.items():
        if k in FIXED_FIELDS:
            continue
        if k in payload:
            if text.strip() == "" and not isinstance(payload[k], str):
                payload.pop(k)
            else:
                payload[k] = _value(payload[k], text)
    payload = {k: v for k, v in payload.items() if v != ""}
    if original.kind in UPDATES and seen_version:
        payload[SEEN_VERSION_KEY] = seen_version
    existing = journal.read(store, correction_id) if correction_id else None
    if existing is None:
        correction = make_entry(
            original.kind,
            patient_id=original.patient_id,
            encounter_id=original.encounter_id,
            author=by.username,
            author_name=by.name,
            role=by.role,
            node=by.node,
            now=now,
            payload=payload,
            performed_at=original.performed_at,
            corrects=original.id,
            drill=original.drill,
            entry_id=correction_id,
        )
        journal.append(store, [correction])
    else:
        correction = existing
    state.set_outcome(
        store,
        entry_id,
        Status.PENDING,
        by.username,
        f"re-sent after an edit as correction {correction.id}: {reason.strip()}",
        now=now,
    )
    state.enroll(
        store,
        [
            state.Enrolment(
                correction.id, correction.kind.value, b.patient_key, correction.performed_at
            )
        ],
        now,
        by.username,
    )
    return correction


def entered_by_hand(store: Store, entry_id: str, where: str, by: str, now: datetime) -> BackEntry:
    """Someone typed it into the EHR: `where` says where and by whom."""
    where = " ".join(where.split())
    if len(where) < MIN_REASON:
        raise ReviewError(
            f"say where in the EHR it was entered and by whom (at least {MIN_REASON} characters)"
        )
    return state.set_outcome(
        store, entry_id, Status.ENTERED_BY_HAND, by, f"entered by hand: {where}", now=now
    )


def discard(store: Store, entry_id: str, reason: str, by: str, now: datetime) -> BackEntry:
    """It will not be filed: the reason is required."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ReviewError(f"discarding needs a reason (at least {MIN_REASON} characters)")
    return state.set_outcome(store, entry_id, Status.DISCARDED, by, reason, now=now)
