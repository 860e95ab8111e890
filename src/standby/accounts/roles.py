"""Who may see and do what: one table, enforced server-side on every page of the viewer
(`standby.web.guard.page`).

docs/roles.md is written from this table (and a test checks that they agree). Seeing a
*patient* also depends on units: a user sees the patients of the units they are assigned
to; any other patient needs "break the glass" (`standby.web.access`).
"""

from __future__ import annotations

import enum


class Permission(enum.StrEnum):
    CENSUS = "census"  # the census of the user's units
    CENSUS_ALL_UNITS = "census-all-units"  # the census of every unit (no unit restriction)
    SEARCH = "search"  # find patients by name, MRN, date of birth
    SUMMARY = "summary"  # the patient downtime summary (subject to units / break the glass)
    PRINT = "print"  # print a patient or a unit (PDF)
    BREAK_GLASS = "break-glass"  # open a patient outside one's units, with a stated reason
    OR_SCHEDULE = "or-schedule"  # the OR board
    CLINIC_SCHEDULE = "clinic-schedule"  # clinic schedules, with patient phone numbers
    TRIAGE = "schedule-triage"  # triage, OR desk entries, call lists, rebooking (docs/schedule.md)
    DOCUMENT = "document"  # during a downtime or drill: vitals, doses, notes, allergies
    ORDER = "order"  # during a downtime or drill: write orders
    REGISTER = "register"  # register a patient who arrives; match registrations to the EHR
    TRANSCRIBE = "transcribe"  # enter the paper downtime forms, for their authors
    AMEND = "amend"  # strike or correct another clinician's downtime entry
    AUDIT = "audit"  # search and export the audit log; the break-the-glass list
    USERS = "users"  # the list of accounts
    REVIEW = "review"  # after a downtime: back-entry's review queue and reconciliation report


P = Permission

ROLES: dict[str, frozenset[Permission]] = {
    "nurse": frozenset(
        {P.CENSUS, P.SEARCH, P.SUMMARY, P.PRINT, P.BREAK_GLASS, P.OR_SCHEDULE, P.DOCUMENT}
    ),
    "physician": frozenset(
        {
            P.CENSUS,
            P.SEARCH,
            P.SUMMARY,
            P.PRINT,
            P.BREAK_GLASS,
            P.OR_SCHEDULE,
            P.CLINIC_SCHEDULE,
            P.DOCUMENT,
            P.ORDER,
            P.AMEND,
        }
    ),
    "pharmacist": frozenset({P.CENSUS, P.SEARCH, P.SUMMARY, P.PRINT, P.BREAK_GLASS}),
    "scheduler": frozenset({P.SEARCH, P.OR_SCHEDULE, P.CLINIC_SCHEDULE, P.TRIAGE}),
    "incident-commander": frozenset(
        {P.CENSUS, P.CENSUS_ALL_UNITS, P.OR_SCHEDULE, P.CLINIC_SCHEDULE}
    ),
    "registrar": frozenset({P.CENSUS, P.SEARCH, P.REGISTER}),
    "admin": frozenset({P.AUDIT, P.USERS}),
    "clerk": frozenset({P.CENSUS, P.SEARCH, P.TRANSCRIBE}),
    "charge-nurse": frozenset(
        {
            P.CENSUS,
            P.SEARCH,
            P.SUMMARY,
            P.PRINT,
            P.BREAK_GLASS,
            P.OR_SCHEDULE,
            P.DOCUMENT,
            P.AMEND,
            P.REVIEW,
        }
    ),
    "health-information": frozenset({P.SEARCH, P.REVIEW}),
}

DESCRIPTIONS: dict[str, str] = {
    "nurse": "Census, patient summaries and MAR of their units; OR board; print; "
    "break the glass for other patients; during a downtime, document vitals, doses, notes and "
    "allergies, and admit, transfer and discharge.",
    "physician": "Census and summaries of their units; search; OR board and clinic schedules; "
    "print; break the glass for other patients; during a downtime, document and write orders, "
    "and strike or correct any clinician's downtime entry on their patients.",
    "pharmacist": "Census and summaries (medications, MAR, allergies, labs) of assigned "
    "units; search; print; break the glass.",
    "scheduler": "OR board and clinic schedules with patient phone numbers, to call patients "
    "whose surgery or visit must move; during an outage, triage of surgeries and visits, the "
    "OR desk's room and staff entries, call lists and rebooking; patient search (demographics "
    "only).",
    "incident-commander": "Census of every unit (beds, flags, who is where) and the "
    "schedules, to run the downtime; no clinical summaries.",
    "registrar": "Patient registration: search (to find a patient already known before "
    "registering), the census of their units (to see free beds); during a downtime, register a "
    "patient who arrives (downtime MRN and encounter number, wristband label); after it, "
    "decide for each patient registered during it which EHR patient they are, or that they "
    "are new.",
    "admin": "Accounts, the audit log (search, CSV export) and the break-the-glass list; "
    "no patient data beyond what the audit log names.",
    "clerk": "During a downtime and after it (until back-entry), transcribe the paper "
    "downtime forms (vitals flowsheet, MAR, notes) of their units' patients, each for the "
    "clinician who wrote it; census and search to find the patient; no summaries.",
    "charge-nurse": "A nurse's permissions; during a downtime, strike or correct another "
    "clinician's downtime entry on their units' patients; after it, back-entry's review queue "
    "for the entries of their units (conflicts and rejections: re-send after a correction, "
    "mark as entered by hand, discard with a reason) and the reconciliation report.",
    "health-information": "Health information management (HIM) and informatics staff: "
    "patient search; after a downtime, back-entry's review queue (every unit, with an "
    "account of unit '*') and the reconciliation report.",
}


def can(role: str, permission: Permission) -> bool:
    return permission in ROLES.get(role, frozenset())


def check_role(role: str) -> str:
    """The role, or ValueError naming the known roles."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known roles: {', '.join(ROLES)}")
    return role
