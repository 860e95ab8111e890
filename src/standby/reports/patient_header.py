"""What every section of one patient's packet shares: the running header of its pages
(`context`: the two identifiers, allergies, code status), how an empty section reads and
how a time reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reportlab.lib.units import inch
from reportlab.platypus import Paragraph

from standby.fhir.summary import AllergyStatus, PatientSummary, Section
from standby.fhir.summary_model import SectionStatus
from standby.reports import styles as st
from standby.reports.pages import Context
from standby.reports.tables import esc

W = 7.6 * inch  # body width of a Letter portrait page with our margins


def context(s: PatientSummary, title: str) -> Context:
    h = s.header
    bits = [f"{h.age} {h.sex}", h.location]
    bits.append(h.code_status.text)
    if h.weight:
        bits.append(f"Wt {h.weight.value}")
    bits += h.isolation
    alert = s.allergies.status is not AllergyStatus.NO_KNOWN_ALLERGIES
    allergy = s.allergies.text
    if s.allergies.status is AllergyStatus.LISTED:
        allergy = "; ".join(a.line for a in s.allergies.items)
    return Context(
        group=f"patient:{h.patient_id}",
        title=title,
        patient_line=h.identifiers,
        patient_extra=" · ".join(b for b in bits if b),
        allergies=allergy,
        allergy_alert=alert,
    )


def empty(section: Section[Any] | SectionStatus, what: str = "") -> Paragraph:
    if isinstance(section, Section):
        return Paragraph(esc(section.empty_text), st.EMPTY)
    text = (
        "Not synchronised: this replica does not hold these resources."
        if section is SectionStatus.NOT_SYNCHRONISED
        else f"No {what} recorded in the EHR."
    )
    return Paragraph(esc(text), st.EMPTY)


def when(dt: datetime | None, now: datetime) -> str:
    """In the zone of `now` (the hospital's): "14:05" today, else "Sat 28 Nov 14:05"."""
    if dt is None:
        return "—"
    if now.tzinfo is not None and dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo)
    return dt.strftime("%H:%M") if dt.date() == now.date() else dt.strftime("%a %d %b %H:%M")
