"""Which units and patients a user may open (docs/roles.md#units-and-break-the-glass):
the one place the viewer decides it.

A user sees the census of the units they are assigned to (an account with unit `*`, or a
role with `census-all-units`, sees every unit) and the patients of the units they are
assigned to (an account with unit `*` sees every patient). Any other patient needs "break
the glass": the user states a reason, which is recorded (with an audit line) and shown
to admins; access to that patient then lasts `break_glass_minutes`. Access to a patient
is decided on their unit alone (`standby.clinical.patient_identity`), before their record
is read. A refusal shows no identifiers of the patient (ids are easy to walk), and writes
an audit line (`refused`); a burst of them raises an alert (`web/refusals.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from standby.accounts import repository as repo
from standby.accounts.records import AuditEvent, BreakGlass
from standby.accounts.roles import Permission, can
from standby.clinical.summary import PatientIdentity
from standby.clock import instant

if TYPE_CHECKING:
    from standby.web.guard import PageRequest

MIN_REASON_LENGTH = 10


@dataclass(frozen=True)
class Access:
    allowed: bool
    via: str  # "unit", "all-units", "break-glass", or "none"


@dataclass(frozen=True)
class Refused:
    """Access refused: who the patient is, for the break-the-glass form."""

    identity: PatientIdentity


def open_patient(pr: PageRequest, patient_id: str) -> Access | Refused | None:
    """May the user open this patient? Decided before the record is read: on the
    patient's unit (`standby.clinical.patient_identity`, kept in the read cache), which is
    not read at all for an account that sees every unit. None when the decision read the
    patient and the replica holds no such patient."""
    if pr.user.all_units:
        return patient_access(pr, patient_id, None)
    identity = pr.web.summaries.identity(patient_id, pr.now)
    if identity is None:
        return None
    granted = patient_access(pr, patient_id, identity.unit_id)
    if granted.allowed:
        return granted
    refused(pr, patient_id)
    return Refused(identity)


def refused(pr: PageRequest, patient_id: str) -> None:
    """Audit a refused patient, and raise the alert when the user is refusing many."""
    pr.audit("refused", patient_id, "outside the user's units")
    burst = pr.web.refusal_watch.refused(pr.user.username, patient_id, pr.now)
    if burst:
        seconds = int(pr.web.refusal_watch.window.total_seconds())
        pr.audit(
            "refusal-alert",
            None,
            f"{burst} different patients outside their units refused within {seconds} s",
        )


def unit_access(pr: PageRequest, unit_id: str) -> bool:
    """May the user see the census of this unit (and print it)."""
    return can(pr.user.role, Permission.CENSUS_ALL_UNITS) or pr.user.assigned_to(unit_id)


def in_units(pr: PageRequest, unit_id: str | None) -> bool:
    """Whether a patient on `unit_id` (None: not on a unit) is within the user's units:
    opened without breaking the glass."""
    return pr.user.assigned_to(unit_id)


def patient_access(pr: PageRequest, patient_id: str, unit_id: str | None) -> Access:
    """May the user open this patient, who is on `unit_id` (None: not on a unit)."""
    user = pr.user
    if user.all_units:
        return Access(True, "all-units")
    if in_units(pr, unit_id):
        return Access(True, "unit")
    if repo.has_break_glass(pr.web.store, user.username, patient_id, instant(pr.now)):
        return Access(True, "break-glass")
    return Access(False, "none")


def break_glass(pr: PageRequest, patient_id: str, reason: str) -> BreakGlass:
    """Grant access to one patient for `break_glass_minutes`; ValueError on a thin reason."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(
            f"State the reason in a few words (at least {MIN_REASON_LENGTH} characters)."
        )
    at = instant(pr.now)
    bg = BreakGlass(
        id=str(uuid.uuid4()),
        at=at,
        username=pr.user.username,
        patient_id=patient_id,
        reason=reason[:1000],
        address=pr.address,
        expires_at=instant(pr.now + pr.web.break_glass_for),
    )
    event = AuditEvent(
        at,
        pr.user.username,
        pr.user.role,
        "break-glass",
        patient_id,
        pr.request.url.path,
        pr.address,
        reason[:500],
    )
    repo.add_break_glass(pr.web.store, bg, event)
    return bg
