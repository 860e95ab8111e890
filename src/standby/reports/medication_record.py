"""One patient's medications as platypus flowables (docs/reports.md, "Patient packet"):
the active medications, the MAR for the next 24 hours (scheduled doses one row per time),
PRN medications, and the administrations of the last 24 hours.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Paragraph, Spacer

from standby.fhir.mar import Administration
from standby.fhir.summary import PatientSummary
from standby.fhir.summary_model import SectionStatus
from standby.reports import styles as st
from standby.reports.pages import Marker
from standby.reports.patient_header import context, empty, when
from standby.reports.tables import esc, headed_table, markup, p


def medications(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Active medications")),
        Paragraph("Active medications", st.H1),
    ]
    if not s.medications:
        return [*out, empty(s.medications)]
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
        return [*out, empty(s.mar_status, "medication orders or administrations")]
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
                p(f"{when(last.when, now)}\n{last.dose}" if last else "none recorded"),
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
                        p(when(e.last_given.when, now) if e.last_given else "—"),
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
                p(f"{when(last.when, s.now)} ({last.dose})" if last else "not given recently"),
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
            p(when(a.when, s.now)),
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
