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
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Spacer

from standby.fhir.summary import AllergyStatus, PatientSummary
from standby.fhir.summary_model import VITAL_COLUMNS, LabResult, VitalRow
from standby.reports import styles as st
from standby.reports.medication_record import mar, medications
from standby.reports.pages import Marker
from standby.reports.patient_header import W, code_status_cell, context, empty, when
from standby.reports.tables import Cell, esc, headed_table, key_values, markup, p
from standby.reports.text import para

# FHIR's codes in the words of the ward (the web summary says the same).
PROBLEM_KIND = {"Encounter diagnosis": "diagnosis of this stay", "Problem": "problem list"}
VERIFICATION = {
    "unconfirmed": "not confirmed",
    "refuted": "ruled out",
    "entered-in-error": "entered in error",
}
CRITICALITY = {"unable-to-assess": "unable to assess"}

__all__ = ["context", "face_sheet", "mar_only", "notes", "packet", "results"]


# ---- face sheet -------------------------------------------------------------------------
def face_sheet(s: PatientSummary) -> list[Flowable]:
    h = s.header
    out: list[Flowable] = [Marker(context(s, "Face sheet")), para("Face sheet", st.H1)]
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
    out.append(para("Contacts", st.H2))
    if h.contacts:
        out.append(
            headed_table(
                ["Name", "Relationship", "Phone"],
                [[p(c.name), p(c.relationship), p(", ".join(c.phones))] for c in h.contacts],
                [2.6 * inch, 2 * inch, 3 * inch],
            )
        )
    else:
        out.append(para("No contacts recorded in the EHR.", st.EMPTY))
    out += allergy_section(s)
    out.append(para("Active problems", st.H2))
    if s.problems:
        out.append(
            headed_table(
                ["Problem", "Kind", "Onset"],
                [
                    [p(x.text), p(PROBLEM_KIND.get(x.category, x.category)), p(x.onset or "—")]
                    for x in s.problems
                ],
                [4.6 * inch, 1.8 * inch, 1.2 * inch],
            )
        )
    else:
        out.append(empty(s.problems))
    out.append(para("Care plan", st.H2))
    if s.care_plan:
        for cp in s.care_plan:
            acts = "".join(f"<br/>• {esc(a)}" for a in cp.activities)
            out.append(markup(f"<b>{esc(cp.title)}</b> {esc(cp.period)}{acts}", st.BODY))
    else:
        out.append(empty(s.care_plan))
    out.append(para("Upcoming procedures and appointments", st.H2))
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
    out: list[Flowable] = [para("Allergies and intolerances", st.H2)]
    a = s.allergies
    if a.status is AllergyStatus.LISTED:
        out.append(
            headed_table(
                ["Substance", "Reactions", "Criticality", "Verification"],
                [
                    [
                        p(x.substance, st.CELL_BOLD),
                        p(", ".join(x.reactions) or "not recorded"),
                        p(CRITICALITY.get(x.criticality, x.criticality) or "—"),
                        p(VERIFICATION.get(x.verification, x.verification) or "—"),
                    ]
                    for x in a.items
                ],
                [2.4 * inch, 3.0 * inch, 1.1 * inch, 1.1 * inch],
            )
        )
    elif a.status is AllergyStatus.NO_KNOWN_ALLERGIES:
        out.append(para("No known allergies (asserted in the EHR).", st.BODY))
    elif a.status is AllergyStatus.NOT_RECORDED:
        out.append(
            para(
                "ALLERGIES NOT RECORDED — no allergy information in the EHR. "
                "Ask the patient or family before giving any medication.",
                st.WARN,
            )
        )
    else:
        out.append(
            para(
                "ALLERGIES NOT SYNCHRONISED — Standby's copy of the EHR holds no "
                "allergy records; this does not mean none. Check another source.",
                st.WARN,
            )
        )
    return out


# ---- results, orders, notes -------------------------------------------------------------
def results(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Vital signs and laboratory results")),
        para("Vital signs — last 48 hours", st.H1),
    ]
    if s.vitals.rows:
        out += _vitals(s)
    else:
        out.append(empty(s.vitals_status, "vital signs in the last 48 h"))
    out.append(para("Laboratory results — last 48 hours", st.H2))
    if s.labs:
        out += _labs(s)
    else:
        out.append(empty(s.labs))
    out.append(para("Active orders", st.H2))
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


def _vital(r: VitalRow, c: str) -> Cell:
    """A value with its flag in words ("152/95 H"), bold when flagged; "—" not taken."""
    v = r.values.get(c, "")
    if not v:
        return p("—")
    flag = r.flags.get(c, "")
    return p(f"{v} {flag}", st.CELL_BOLD) if flag else p(v)


def _vitals(s: PatientSummary) -> list[Flowable]:
    """The last full set first, then every set newest first, flags written out."""
    cols = list(VITAL_COLUMNS)
    widths = [1.25 * inch] + [0.85 * inch] * len(cols) + [1.25 * inch]
    out: list[Flowable] = []
    full = s.vitals.last_full
    if full is not None:
        out.append(para(f"Last full set: {when(full.when, s.now)}", st.H2))
        out.append(headed_table(cols, [[_vital(full, c) for c in cols]], widths[1:-1]))
    else:
        out.append(
            para(
                "No full set (BP, HR, RR, Temp and SpO2 together) in the last 48 hours.",
                st.EMPTY,
            )
        )
    out.append(para("Every set, newest first", st.H2))
    rows = [
        [
            p(when(r.when, s.now)),
            *[_vital(r, c) for c in cols],
            p("full" if r.complete else "partial: no " + ", ".join(r.missing)),
        ]
        for r in s.vitals.rows
    ]
    out.append(headed_table(["Time", *cols, "Set"], rows, widths))
    ranges = s.vitals.ranges
    out.append(
        para(
            f"H / L: above or below the {ranges}, or as flagged in the EHR."
            if ranges
            else "H / L: as flagged in the EHR.",
            st.EMPTY,
        )
    )
    return out


def _lab_cell(r: LabResult) -> Cell:
    # what the feed brought while the EHR was down is marked as the journal's entries are
    note = f"\n{r.downtime_note}" if r.downtime_from else ""
    return p(r.value + note, st.CELL_BOLD if r.abnormal else st.CELL)


def _labs(s: PatientSummary) -> list[Flowable]:
    """One table per panel: the latest result, its flag, the previous result beside it."""
    out: list[Flowable] = []
    panels: dict[str, list[LabResult]] = {}
    for r in s.labs:
        panels.setdefault(r.panel, []).append(r)
    for panel, results in panels.items():
        rows, extra = [], []
        for i, r in enumerate(results, start=1):
            prev = r.previous
            rows.append(
                [
                    p(r.name),
                    _lab_cell(r),
                    p(_flag_text(r), st.CELL_BOLD if r.abnormal else st.CELL),
                    p(when(r.when, s.now)),
                    p(
                        f"{prev.value}{' ' + prev.flag if prev.abnormal else ''}\n"
                        f"{when(prev.when, s.now)}"
                        if prev
                        else "none earlier"
                    ),
                    p(r.reference_range or "—"),
                ]
            )
            if r.abnormal:
                extra.append(("BACKGROUND", (1, i), (2, i), st.OVERDUE_BG))
        out.append(
            KeepTogether(
                [
                    para(panel, st.H2),
                    headed_table(
                        ["Test", "Latest", "Flag", "When", "Previous", "Reference range"],
                        rows,
                        [
                            1.9 * inch,
                            1.15 * inch,
                            0.75 * inch,
                            1.25 * inch,
                            1.45 * inch,
                            1.1 * inch,
                        ],
                        extra=extra,
                        zebra=False,
                    ),
                ]
            )
        )
    return out


def _flag_text(r: LabResult) -> str:
    if r.flag in ("HH", "LL", "AA"):
        return f"{r.flag} critical"
    return (r.flag or "abnormal") if r.abnormal else r.flag


NOTES_PRINTED = 3


def notes(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(2 * inch),
        Marker(context(s, "Recent notes")),
        para("Most recent notes", st.H1),
    ]
    if not s.notes:
        return [*out, empty(s.notes)]
    for n in s.notes.items[:NOTES_PRINTED]:
        head = f"{n.title} — {when(n.when, s.now)}{' — ' + n.author if n.author else ''}"
        out.append(KeepTogether([para(head, st.H2)]))
        for block in n.text.split("\n\n"):
            out.append(para(block.strip(), st.NOTE))
            out.append(Spacer(1, 3))
    left = len(s.notes.items) - NOTES_PRINTED
    if left > 0:
        out.append(para(f"{left} older note(s) not printed: see the viewer.", st.EMPTY))
    return out


def packet(s: PatientSummary) -> list[Flowable]:
    """Every section of one patient's packet, starting on a new page."""
    return [*face_sheet(s), *medications(s), *mar(s), *results(s), *notes(s)]


def mar_only(s: PatientSummary) -> list[Flowable]:
    """The MAR alone (for printing every patient's MAR at once)."""
    flow = mar(s)
    return flow[1:]  # no leading page break: the caller separates patients
