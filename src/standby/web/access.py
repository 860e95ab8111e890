"""Which patients a user may open (docs/roles.md#units-and-break-the-glass).

A user sees the patients of the units they are assigned to (an account with unit `*`
sees every unit). Any other patient needs "break the glass": the user states a reason,
which is recorded (with an audit line) and shown to admins; access to that patient then
lasts `break_glass_minutes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from standby.accounts import repository as repo
from standby.accounts.records import AuditEvent, BreakGlass
from standby.web.times import iso

if TYPE_CHECKING:
    from standby.web.guard import PageRequest

MIN_REASON_LENGTH = 10


@dataclass(frozen=True)
class Access:
    allowed: bool
    via: str  # "unit", "all-units", "break-glass", or "none"


def patient_access(pr: PageRequest, patient_id: str, unit_ids: Iterable[str]) -> Access:
    user = pr.user
    if user.all_units:
        return Access(True, "all-units")
    if any(u in user.units for u in unit_ids):
        return Access(True, "unit")
    if repo.has_break_glass(pr.web.store, user.username, patient_id, iso(pr.now)):
        return Access(True, "break-glass")
    return Access(False, "none")


def break_glass(pr: PageRequest, patient_id: str, reason: str) -> BreakGlass:
    """Grant access to one patient for `break_glass_minutes`; ValueError on a thin reason."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(
            f"State the reason in a few words (at least {MIN_REASON_LENGTH} characters)."
        )
    at = iso(pr.now)
    bg = BreakGlass(
        id=str(uuid.uuid4()),
        at=at,
        username=pr.user.username,
        patient_id=patient_id,
        reason=reason[:1000],
        address=pr.address,
        expires_at=iso(pr.now + pr.web.break_glass_for),
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
