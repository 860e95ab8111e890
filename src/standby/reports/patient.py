"""One patient's downtime packet as platypus flowables (docs/reports.md, "Patient packet").

It renders a `standby.fhir.summary.PatientSummary` and decides nothing about content: the
summary says what is there and why a section is empty. Order: face sheet (demographics,
contacts, allergies with reactions, code status, problems, weight/height, care plan,
upcoming), active medications, the MAR for the next 24 hours (scheduled doses one row per
time, PRN separately, the last 24 hours of administrations), vital signs and labs of the
last 48 hours, active orders, the most recent notes.
"""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Paragraph, Spacer

from standby.fhir.summary import AllergyStatus, PatientSummary
from standby.fhir.summary_model import VITAL_COLUMNS
from standby.reports import styles as st
from standby.reports.medication_record import mar, medications
from standby.reports.pages import Marker
from standby.reports.patient_header import W, code_status_cell, context, empty, when
from standby.reports.tables import esc, headed_table, key_values, markup, p

__all__ = ["context", "face_sheet", "mar_only", "notes", "packet", "results"]


# ---- face sheet -------------------------------------------------------------------------
def face_sheet(s: PatientSummary) -> list[Flowable]:
    h = s.header
    out: list[Flowable] = [Marker(context(s, "Face sheet")), Paragraph("Face sheet", st.H1)]
    wt = h.weight.value if h.weight else "not recorded"
    ht = h.height.value if h.height else "not recorded"
    out.append(
        key_values(
            [
                ("Name", h.name),
                ("Date of birth", f"{h.dob} ({h.age})"),
                ("Sex", h.sex),
                ("MRN", h.mrn or "unknown"),
                ("Location", h.location),
                (
                    "Admitted",
                    f"{when(h.admitted, s.now)} ({h.length_of_stay})" if h.admitted else "—",
                ),
                ("Attending", h.attending or "—"),
                ("Admission reason", h.admission_reason or "not recorded"),
                ("Code status", code_status_cell(h.code_status, 2.4 * inch)),
                ("Weight / height", f"{wt} / {ht}"),
                ("Isolation", ", ".join(h.isolation) or "none active"),
                (
                    "Other flags",
                    ", ".join(f.text for f in h.flags if not f.isolation) or "none active",
                ),
                ("Address", h.address or "not recorded"),
                ("Phone", ", ".join(h.phones) or "not recorded"),
                ("Language", h.language or "not recorded"),
            ],
            W,
        )
    )
    out.append(Paragraph("Contacts", st.H2))
    if h.contacts:
        out.append(
            headed_table(
                ["Name", "Relationship", "Phone"],
                [[p(c.name), p(c.relationship), p(", ".join(c.phones))] for c in h.contacts],
                [2.6 * inch, 2 * inch, 3 * inch],
            )
        )
    else:
        out.append(Paragraph("No contacts recorded on the Patient resource.", st.EMPTY))
    out += allergy_section(s)
    out.append(Paragraph("Active problems", st.H2))
    if s.problems:
        out.append(
            headed_table(
                ["Problem", "Kind", "Onset"],
                [[p(x.text), p(x.category), p(x.onset or "—")] for x in s.problems],
                [4.6 * inch, 1.8 * inch, 1.2 * inch],
            )
        )
    else:
        out.append(empty(s.problems))
    out.append(Paragraph("Care plan", st.H2))
    if s.care_plan:
        for cp in s.care_plan:
            acts = "".join(f"<br/>• {esc(a)}" for a in cp.activities)
            out.append(markup(f"<b>{esc(cp.title)}</b> {esc(cp.period)}{acts}", st.BODY))
    else:
        out.append(empty(s.care_plan))
    out.append(Paragraph("Upcoming procedures and appointments", st.H2))
    if s.upcoming:
        out.append(
            headed_table(
                ["When", "What", "Kind", "Where", "With"],
                [
                    [
                        p(when(u.when, s.now)),
                        p(u.description),
                        p(u.kind),
                        p(u.location),
                        p(u.with_whom),
                    ]
                    for u in s.upcoming
                ],
                [1.3 * inch, 2.6 * inch, 0.9 * inch, 1.4 * inch, 1.4 * inch],
            )
        )
    else:
        out.append(empty(s.upcoming))
    return out


def allergy_section(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Allergies and intolerances", st.H2)]
    a = s.allergies
    if a.status is AllergyStatus.LISTED:
        out.append(
            headed_table(
                ["Substance", "Reactions", "Criticality", "Verification"],
                [
                    [
                        p(x.substance, st.CELL_BOLD),
                        p(", ".join(x.reactions) or "not recorded"),
                        p(x.criticality or "—"),
                        p(x.verification or "—"),
                    ]
                    for x in a.items
                ],
                [2.4 * inch, 3.0 * inch, 1.1 * inch, 1.1 * inch],
            )
        )
    elif a.status is AllergyStatus.NO_KNOWN_ALLERGIES:
        out.append(Paragraph("No known allergies (asserted in the EHR).", st.BODY))
    elif a.status is AllergyStatus.NOT_RECORDED:
        out.append(
            Paragraph(
                "ALLERGIES NOT RECORDED — no allergy information in the EHR. "
                "Ask the patient or family before giving any medication.",
                st.WARN,
            )
        )
    else:
        out.append(
            Paragraph(
                "ALLERGIES NOT SYNCHRONISED — this replica does not hold "
                "allergy records. Check another source.",
                st.WARN,
            )
        )
    return out


# ---- results, orders, notes -------------------------------------------------------------
def results(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Vital signs and laboratory results")),
        Paragraph("Vital signs — last 48 hours", st.H1),
    ]
    if s.vitals.rows:
        rows = [
            [p(when(r.when, s.now)), *[p(r.values.get(c, "")) for c in VITAL_COLUMNS]]
            for r in s.vitals.rows
        ]
        out.append(
            headed_table(
                ["Time", "BP", "HR", "RR", "Temp", "SpO2", "Pain"],
                rows,
                [1.4 * inch] + [1.03 * inch] * 6,
            )
        )
    else:
        out.append(empty(s.vitals_status, "vital signs in the last 48 h"))
    out.append(Paragraph("Laboratory results — last 48 hours", st.H2))
    if s.labs:
        rows, extra = [], []
        for i, r in enumerate(s.labs, start=1):
            flag = r.flag if r.abnormal else (r.flag or "")
            rows.append(
                [
                    p(when(r.when, s.now)),
                    p(r.name),
                    p(r.value, st.CELL_BOLD if r.abnormal else st.CELL),
                    p(flag, st.CELL_BOLD if r.abnormal else st.CELL),
                    p(r.reference_range or "—"),
                ]
            )
            if r.abnormal:
                extra.append(("BACKGROUND", (2, i), (3, i), st.OVERDUE_BG))
        out.append(
            headed_table(
                ["Time", "Test", "Result", "Flag", "Reference range"],
                rows,
                [1.3 * inch, 2.9 * inch, 1.3 * inch, 0.6 * inch, 1.5 * inch],
                extra=extra,
                zebra=False,
            )
        )
    else:
        out.append(empty(s.labs))
    out.append(Paragraph("Active orders", st.H2))
    if s.orders:
        out.append(
            headed_table(
                ["Order", "Priority", "When", "Category", "Requested by"],
                [
                    [p(o.text), p(o.priority), p(o.when or "—"), p(o.category), p(o.requester)]
                    for o in s.orders
                ],
                [2.8 * inch, 0.8 * inch, 1.3 * inch, 1.4 * inch, 1.3 * inch],
            )
        )
    else:
        out.append(empty(s.orders))
    return out


NOTES_PRINTED = 3


def notes(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(2 * inch),
        Marker(context(s, "Recent notes")),
        Paragraph("Most recent notes", st.H1),
    ]
    if not s.notes:
        return [*out, empty(s.notes)]
    for n in s.notes.items[:NOTES_PRINTED]:
        head = f"{n.title} — {when(n.when, s.now)}{' — ' + n.author if n.author else ''}"
        out.append(KeepTogether([Paragraph(esc(head), st.H2)]))
        for para in n.text.split("\n\n"):
            out.append(Paragraph(esc(para.strip()), st.NOTE))
            out.append(Spacer(1, 3))
    left = len(s.notes.items) - NOTES_PRINTED
    if left > 0:
        out.append(Paragraph(f"{left} older note(s) not printed: see the viewer.", st.EMPTY))
    return out


def packet(s: PatientSummary) -> list[Flowable]:
    """Every section of one patient's packet, starting on a new page."""
    return [*face_sheet(s), *medications(s), *mar(s), *results(s), *notes(s)]


def mar_only(s: PatientSummary) -> list[Flowable]:
    """The MAR alone (for printing every patient's MAR at once)."""
    flow = mar(s)
    return flow[1:]  # no leading page break: the caller separates patients
