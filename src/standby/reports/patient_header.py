"""What every section of one patient's packet shares: the running header of its pages
(`context`: the two identifiers, allergies, code status), how an empty section reads and
how a time reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Table, TableStyle

from standby.fhir.display import wall_clock
from standby.fhir.summary import AllergyStatus, PatientSummary, Section
from standby.fhir.summary_model import CodeStatus, SectionStatus
from standby.reports import styles as st
from standby.reports.pages import Context
from standby.reports.tables import esc
from standby.reports.text import markup, para

W = 7.6 * inch  # body width of a Letter portrait page with our margins


def context(s: PatientSummary, title: str) -> Context:
    h = s.header
    bits = [f"{h.age} {h.sex}", h.location]
    if not h.code_status.limits:  # a limiting status is drawn as its own mark
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
        code_mark=h.code_status.mark,
        code_words=h.code_status.words,
    )


def not_synchronised(what: str) -> str:
    """An empty section because Standby's copy holds none of it: never read as "none"."""
    return f"Not synchronised: Standby's copy of the EHR holds no {what}; this does not mean none."


def empty(section: Section[Any] | SectionStatus, what: str = "") -> Flowable:
    if isinstance(section, Section):
        if section.status is SectionStatus.NOT_SYNCHRONISED:
            return para(not_synchronised(section.what), st.EMPTY)
        return para(section.empty_text, st.EMPTY)
    text = (
        not_synchronised(what or "these records")
        if section is SectionStatus.NOT_SYNCHRONISED
        else f"No {what} recorded in the EHR."
    )
    return para(text, st.EMPTY)


def when(dt: datetime | None, now: datetime) -> str:
    """In the zone of `now` (the hospital's), always with its day: "Sat 28 Nov 14:05". A
    sheet is read for hours after it is printed, past midnight too: a bare "14:05" on paper
    cannot say which day it means."""
    if dt is None:
        return "—"
    if now.tzinfo is not None and dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo)
    return wall_clock(dt, "%a %d %b %H:%M")


def clock_on(dt: datetime | None, day: date, now: datetime) -> str:
    """A time under a heading naming `day`: "09:08" when it falls on that day (in the zone
    of `now`), else with its own day ("Sun 29 Nov 09:08")."""
    if dt is None:
        return "—"
    if now.tzinfo is not None and dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo)
    return wall_clock(dt) if dt.date() == day else wall_clock(dt, "%a %d %b %H:%M")


def code_status_cell(cs: CodeStatus, width: float) -> Flowable:
    """Code status for a table cell: a limiting one (DNR, DNI, other limits) as an
    inverted mark with a symbol ("⚠ DNR", white on black, in a black box) over its words;
    full code or unknown as bold text. No word is split or hyphenated."""
    if not cs.limits:
        return para(cs.text, st.CODE_PLAIN)
    rows: list[list[Any]] = [[markup(f"\u26a0 {esc(cs.mark)}", st.CODE_MARK)]]
    if cs.words:
        rows.append([para(cs.words, st.CODE_WORDS)])
    t = Table(rows, colWidths=[width], hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), colors.black),
                ("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return t
