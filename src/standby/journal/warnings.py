"""What the medication administration form warns about before a dose is recorded (pure).

- **Wrong patient**: the MRN typed or scanned from the wristband must be this patient's
  (`patient_confirmed`); the form does not say what the right MRN is — reading the band is
  the check.
- **Given already**: a dose of the same order recorded within the window around the same
  scheduled time, or around the time given for a dose not tied to one (in the EHR, or in
  any node's journal once they are merged: the MAR line holds both), or a PRN dose inside
  its minimum interval.
- **Too early**: more than the window before the dose is due (60 minutes, the usual
  "within an hour of the scheduled time" rule).
- **Allergy**: the drug matches one of the patient's listed allergies (the summary's own
  check, `fhir.sections.allergy_alerts`).

The nurse may go on after reading them (a held dose, a doctor's instruction): the form
records that the warnings were shown and acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby.fhir.mar import MarEntry

WINDOW = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class DoseWarning:
    code: str  # "given-already" | "interval" | "too-early" | "allergy"
    text: str


def _norm(mrn: str) -> str:
    return "".join(mrn.split()).upper()


def patient_confirmed(typed: str, mrn: str) -> bool:
    """Whether what was typed or scanned is this patient's MRN (spaces and case aside)."""
    return bool(typed.strip()) and bool(mrn) and _norm(typed) == _norm(mrn)


def _hhmm(t: datetime, zone: object) -> str:
    return t.astimezone(zone).strftime("%d %b %H:%M")  # type: ignore[arg-type]


def administration_warnings(
    line: MarEntry,
    *,
    performed_at: datetime,
    scheduled_for: datetime | None,
    allergy_alerts: Sequence[str] = (),
    window: timedelta = WINDOW,
) -> list[DoseWarning]:
    """The warnings for recording a dose of `line`'s order given at `performed_at` (for
    the scheduled dose at `scheduled_for`; None for a PRN or an unscheduled dose)."""
    zone = performed_at.tzinfo
    out: list[DoseWarning] = []
    given = [a for a in line.administrations if a.given]
    if scheduled_for is not None:
        near = [a for a in given if abs(a.when - scheduled_for) <= window]
        for a in near:
            who = f" by {a.performer}" if a.performer else ""
            out.append(
                DoseWarning(
                    "given-already",
                    f"The {_hhmm(scheduled_for, zone)} dose was recorded as given at "
                    f"{_hhmm(a.when, zone)}{who}.",
                )
            )
        if scheduled_for - performed_at > window:
            minutes = int((scheduled_for - performed_at).total_seconds() // 60)
            out.append(
                DoseWarning(
                    "too-early",
                    f"This dose is due at {_hhmm(scheduled_for, zone)}: "
                    f"{minutes} minutes from the time given.",
                )
            )
    elif not line.medication.prn:  # an extra dose of a scheduled order
        for a in given:
            if abs(a.when - performed_at) <= window:
                who = f" by {a.performer}" if a.performer else ""
                out.append(
                    DoseWarning(
                        "given-already",
                        "A dose of this order was recorded as given at "
                        f"{_hhmm(a.when, zone)}{who}.",
                    )
                )
    elif line.next_allowed is not None and performed_at < line.next_allowed:
        last = line.last_given
        since = f" since the dose at {_hhmm(last.when, zone)}" if last else ""
        out.append(
            DoseWarning(
                "interval",
                f"The minimum interval ({line.medication.frequency}) has not passed{since}: "
                f"next allowed at {_hhmm(line.next_allowed, zone)}.",
            )
        )
    for alert in allergy_alerts:
        out.append(DoseWarning("allergy", f"Allergy: {alert}. Check before giving."))
    return out
