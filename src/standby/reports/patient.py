"""One patient's downtime packet as platypus flowables (docs/reports.md, "Patient packet").

It renders a `standby.fhir.summary.PatientSummary` and decides nothing about content: the
summary says what is there and why a section is empty. Order: face sheet (demographics,
contacts, allergies with reactions, code status, problems, weight/height, care plan,
upcoming), active medications, the MAR for the next 24 hours (scheduled doses one row per
time, PRN separately, the last 24 hours of administrations), vital signs and labs of the
last 48 hours, active orders, the most recent notes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Paragraph, Spacer

from standby.fhir.mar import Administration, MarEntry
from standby.fhir.summary import AllergyStatus, PatientSummary, Section
from standby.fhir.summary_model import VITAL_COLUMNS, SectionStatus
from standby.reports import styles as st
from standby.reports.pages import Context, Marker
from standby.reports.tables import esc, headed_table, key_values, markup, p

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


def _empty(section: Section[Any] | SectionStatus, what: str = "") -> Paragraph:
    if isinstance(section, Section):
        return Paragraph(esc(section.empty_text), st.EMPTY)
    text = (
        "Not synchronised: this replica does not hold these resources."
        if section is SectionStatus.NOT_SYNCHRONISED
        else f"No {what} recorded in the EHR."
    )
    return Paragraph(esc(text), st.EMPTY)


def _t(dt: datetime | None, now: datetime) -> str:
    """In the zone of `now` (the hospital's): "14:05" today, else "Sat 28 Nov 14:05"."""
    if dt is None:
        return "—"
    if now.tzinfo is not None and dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo)
    return dt.strftime("%H:%M") if dt.date() == now.date() else dt.strftime("%a %d %b %H:%M")


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
                    f"{_t(h.admitted, s.now)} ({h.length_of_stay})" if h.admitted else "—",
                ),
                ("Attending", h.attending or "—"),
                ("Admission reason", h.admission_reason or "not recorded"),
                ("Code status", markup(f"<b>{esc(h.code_status.text)}</b>", st.CELL)),
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
        out.append(_empty(s.problems))
    out.append(Paragraph("Care plan", st.H2))
    if s.care_plan:
        for cp in s.care_plan:
            acts = "".join(f"<br/>• {esc(a)}" for a in cp.activities)
            out.append(markup(f"<b>{esc(cp.title)}</b> {esc(cp.period)}{acts}", st.BODY))
    else:
        out.append(_empty(s.care_plan))
    out.append(Paragraph("Upcoming procedures and appointments", st.H2))
    if s.upcoming:
        out.append(
            headed_table(
                ["When", "What", "Kind", "Where", "With"],
                [
                    [
                        p(_t(u.when, s.now)),
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
        out.append(_empty(s.upcoming))
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


# ---- medications and MAR ----------------------------------------------------------------
def medications(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Active medications")),
        Paragraph("Active medications", st.H1),
    ]
    if not s.medications:
        return [*out, _empty(s.medications)]
    rows = [
        [
            _drug(s, m),
            p(m.dose or "—"),
            p(m.route or "—"),
            p(m.frequency),
            p(_adds(m)),
        ]
        for m in s.medications
    ]
    out.append(
        headed_table(
            ["Drug", "Dose", "Route", "Frequency", "Instructions"],
            rows,
            [2.5 * inch, 0.9 * inch, 0.9 * inch, 1.1 * inch, 2.2 * inch],
        )
    )
    return out


def _adds(m: Any) -> str:
    """The order's free-text instructions, unless they only repeat name, dose and route."""
    known = f"{m.name} {m.dose} {m.route} {m.frequency}".lower().split()
    words = m.instructions.lower().split()
    return "" if all(w in known for w in words) else m.instructions


def _alert(s: PatientSummary, m: Any) -> str:
    """Markup of the allergy warning of one order ("" when none)."""
    alerts = s.alerts_for(m.id)
    if not alerts:
        return ""
    text = esc("; ".join(alerts))
    return f"<br/><font size=9.5 color='#B00020'><b>CHECK ALLERGY: {text}</b></font>"


def _drug(s: PatientSummary, m: Any) -> Any:
    """The drug name in large bold, with an allergy warning under it when one applies."""
    warn = _alert(s, m)
    return markup(f"{esc(m.name)}{warn}", st.DRUG) if warn else p(m.name, st.DRUG)


def _dose_cell(m: Any, s: PatientSummary | None = None) -> Paragraph:
    extra = _adds(m)
    return markup(
        f"<font size=12><b>{esc(m.name)}</b></font>{_alert(s, m) if s else ''}<br/>"
        f"<font size=11><b>{esc(m.dose or 'dose: see order')}</b> · "
        f"{esc(m.route or 'route: see order')}</font>"
        f"{'<br/>' + esc(extra) if extra else ''}",
        st.MAR_CELL,
    )


def mar(s: PatientSummary) -> list[Flowable]:
    """The MAR grid for the next 24 h: one row per scheduled dose, in time order."""
    now = s.now
    end = now + timedelta(hours=24)
    title = f"MAR — 24 hours from {now:%a %d %b %H:%M} to {end:%a %d %b %H:%M}"
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Medication administration record")),
        Paragraph(esc(title), st.H1),
    ]
    m = s.mar
    if s.mar_status is not SectionStatus.PRESENT:
        return [*out, _empty(s.mar_status, "medication orders or administrations")]
    overdue = [(t, e) for e in m.scheduled for t in e.overdue]
    if overdue:
        lines = "<br/>".join(
            f"{t:%H:%M} {esc(e.medication.name)} {esc(e.medication.dose)} {esc(e.medication.route)}"
            for t, e in sorted(overdue, key=lambda x: x[0])
        )
        out.append(
            markup(f"<b>OVERDUE — scheduled, not documented as given:</b><br/>{lines}", st.WARN)
        )
        out.append(Spacer(1, 4))
    rows: list[list[Any]] = []
    extra: list[tuple[Any, ...]] = []
    doses = sorted(
        (
            (d.time, d.state, e)
            for e in m.scheduled
            for d in e.doses
            if d.state in ("due", "upcoming", "overdue")
        ),
        key=lambda x: (x[0], x[2].medication.name.lower()),
    )
    day = None
    for t, state, e in doses:
        if t.date() != day:  # a full-width row names each day: no time is ambiguous
            day = t.date()
            rows.append([p(f"{t:%A %d %B %Y}", st.CELL_BOLD), "", "", "", "", "", "", "", ""])
            r = len(rows)
            extra += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), st.HEAD_BG)]
        m_ = e.medication
        last = e.last_given
        label = {"overdue": "OVERDUE", "due": "DUE NOW"}.get(state, "")
        rows.append(
            [
                markup(f"<b>{t:%H:%M}</b><br/><font size=8.5><b>{label}</b></font>", st.DUE)
                if label
                else p(f"{t:%H:%M}", st.DUE),
                _drug(s, m_),
                p(m_.dose or "see order", st.DOSE),
                p(m_.route or "see order", st.CELL_BOLD),
                p(m_.frequency),
                p(f"{_t(last.when, now)}\n{last.dose}" if last else "none recorded"),
                "",
                "",
                "",
            ]
        )
        if state == "overdue":
            r = len(rows)
            extra.append(("BACKGROUND", (0, r), (0, r), st.OVERDUE_BG))
    if rows:
        out.append(
            headed_table(
                [
                    "Due",
                    "Drug",
                    "Dose",
                    "Route",
                    "Freq.",
                    "Last given",
                    "Time given",
                    "Initials",
                    "Not given",
                ],
                rows,
                [
                    0.86 * inch,
                    1.79 * inch,
                    0.78 * inch,
                    0.7 * inch,
                    0.68 * inch,
                    0.9 * inch,
                    0.7 * inch,
                    0.6 * inch,
                    0.59 * inch,
                ],
                extra=extra,
                zebra=False,
            )
        )
    else:
        out.append(Paragraph("No scheduled doses in the next 24 hours.", st.EMPTY))
    unscheduled = [e for e in m.scheduled if not e.doses]
    if unscheduled:
        out.append(Paragraph("Scheduled orders without clock times (give as directed)", st.H2))
        out.append(
            headed_table(
                ["Drug · dose · route", "Frequency", "Last given"],
                [
                    [
                        _dose_cell(e.medication, s),
                        p(e.medication.frequency),
                        p(_t(e.last_given.when, now) if e.last_given else "—"),
                    ]
                    for e in unscheduled
                ],
                [4.2 * inch, 1.6 * inch, 1.8 * inch],
            )
        )
    out += prn(s)
    out += administrations(s)
    return out


def prn(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(1.5 * inch),
        Paragraph("PRN — AS NEEDED (not scheduled)", st.H2),
    ]
    if not s.mar.prn:
        return [*out, Paragraph("No active PRN orders.", st.EMPTY)]
    rows = []
    for e in s.mar.prn:
        m = e.medication
        last = e.last_given
        given24 = sum(1 for a in e.administrations if a.given)
        rows.append(
            [
                _dose_cell(m, s),
                p(" ".join(x for x in (m.frequency, m.prn_reason) if x)),
                p(f"{_t(last.when, s.now)} ({last.dose})" if last else "not given recently"),
                p(str(given24)),
                "",
                "",
            ]
        )
    out.append(
        headed_table(
            [
                "Drug · dose · route",
                "When / for",
                "Last given",
                "Doses 24 h",
                "Time given",
                "Initials",
            ],
            rows,
            [2.9 * inch, 1.5 * inch, 1.2 * inch, 0.6 * inch, 0.8 * inch, 0.6 * inch],
        )
    )
    return out


def administrations(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(1.2 * inch),
        Paragraph("Administrations in the last 24 hours", st.H2),
    ]
    recent: list[Administration] = s.mar.recent
    if not recent:
        return [*out, Paragraph("No administrations recorded in the last 24 hours.", st.EMPTY)]
    rows = [
        [
            p(_t(a.when, s.now)),
            p(a.medication, st.CELL_BOLD),
            p(a.dose),
            p(a.route),
            p(a.status + (f": {a.reason_not_given}" if a.reason_not_given else "")),
            p(a.performer),
        ]
        for a in recent
    ]
    out.append(
        headed_table(
            ["Time", "Drug", "Dose", "Route", "Status", "By"],
            rows,
            [1.1 * inch, 2.5 * inch, 0.9 * inch, 0.9 * inch, 1.0 * inch, 1.2 * inch],
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
            [p(_t(r.when, s.now)), *[p(r.values.get(c, "")) for c in VITAL_COLUMNS]]
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
        out.append(_empty(s.vitals_status, "vital signs in the last 48 h"))
    out.append(Paragraph("Laboratory results — last 48 hours", st.H2))
    if s.labs:
        rows, extra = [], []
        for i, r in enumerate(s.labs, start=1):
            flag = r.flag if r.abnormal else (r.flag or "")
            rows.append(
                [
                    p(_t(r.when, s.now)),
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
        out.append(_empty(s.labs))
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
        out.append(_empty(s.orders))
    return out


NOTES_PRINTED = 3


def notes(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(2 * inch),
        Marker(context(s, "Recent notes")),
        Paragraph("Most recent notes", st.H1),
    ]
    if not s.notes:
        return [*out, _empty(s.notes)]
    for n in s.notes.items[:NOTES_PRINTED]:
        head = f"{n.title} — {_t(n.when, s.now)}{' — ' + n.author if n.author else ''}"
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


def mar_entry_line(e: MarEntry) -> str:
    return e.medication.line
