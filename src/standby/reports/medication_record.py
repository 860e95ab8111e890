"""One patient's medications as platypus flowables (docs/reports.md, "Patient packet"):
the active medications, the MAR for the next 24 hours (scheduled doses one row per time),
continuous infusions with their rate, PRN medications with a row for each dose their
interval allows in 24 hours, and the administrations of the last 24 hours.

Every time printed carries its day, except under a row naming that day (a sheet is read
for hours after printing, past midnight). During a downtime the MAR says at the top what
the EHR cannot know, and a dose after that is "NOT CHARTED — check the paper MAR", never
overdue.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from typing import Any

from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Spacer,
)

from standby.fhir.display import wall_clock
from standby.fhir.infusion import slots_per_day
from standby.fhir.mar import Administration, MarEntry
from standby.fhir.summary import PatientSummary
from standby.fhir.summary_model import SectionStatus
from standby.reports import styles as st
from standby.reports.pages import Marker, local_text
from standby.reports.patient_header import clock_on, context, empty, when
from standby.reports.tables import esc, headed_table, markup, p
from standby.reports.text import para


def medications(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Active medications")),
        para("Active medications", st.H1),
    ]
    if not s.medications:
        return [*out, empty(s.medications)]
    rows = [
        [
            _drug(s, m, 2.5 * inch),
            p(_dose_and_rate(m)),
            p(m.route or "—"),
            p(" · ".join(x for x in (m.frequency, m.interval) if x)),
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


def _dose_and_rate(m: Any) -> str:
    """ "25 mg", "ordered at 1000 units/h", "4.5 g ordered at 200 mL/h"; "—" when the order
    gives neither. A drip's rate is the ordered one: the rate running now is under
    Continuous infusions, so it says so rather than read as the current rate."""
    rate = f"ordered at {m.rate}" if m.rate else ""
    if m.rate and m.continuous:
        rate += " (running rate: see Continuous infusions)"
    return " ".join(x for x in (m.dose, rate) if x) or "—"


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


def drug_size(name: str, width: float, size: float = 12.0, least: float = 9.0) -> float:
    """The largest size (12 pt down to 9) at which every word of the drug's name fits
    `width` (a cell's width): lines break between words and after a hyphen
    ("Piperacillin-" / "tazobactam"), never inside a word."""
    room = width - 7
    parts = [x for w in name.split() for x in re.findall(r"[^-]+-?", w)] or [""]
    while size > least and max(stringWidth(x, st.BOLD, size) for x in parts) > room:
        size -= 0.5
    return size


def _drug(s: PatientSummary, m: Any, width: float) -> Any:
    """The drug name in large bold, with an allergy warning under it when one applies."""
    size = drug_size(m.name, width)
    return markup(f"<font size={size}>{esc(m.name)}</font>{_alert(s, m)}", st.DRUG)


def _dose_cell(m: Any, s: PatientSummary | None = None, width: float = 2.3 * inch) -> Flowable:
    extra = _adds(m)
    size = drug_size(m.name, width)
    return markup(
        f"<font size={size}><b>{esc(m.name)}</b></font>{_alert(s, m) if s else ''}<br/>"
        f"<font size=11><b>{esc(m.dose or 'dose: see order')}</b> · "
        f"{esc(m.route or 'route: see order')}</font>"
        f"{'<br/>' + esc(extra) if extra else ''}",
        st.MAR_CELL,
    )


LABEL = {"overdue": "OVERDUE", "due": "DUE NOW", "not-charted": "NOT CHARTED"}
GRID_STATES = ("due", "upcoming", "overdue", "not-charted")


def downtime_notice(s: PatientSummary) -> list[Flowable]:
    """What the EHR cannot know during a downtime, said before any dose."""
    until = s.mar.charted_until
    if until is None:
        return []
    return [
        markup(
            "EHR DOWNTIME: doses given since "
            f"{esc(local_text(until, s.now))} are not in this record unless documented in "
            'Standby (marked "in Standby"). A dose after that '
            "time that this copy has not seen given is marked NOT CHARTED — check the "
            "paper MAR before giving it. Nothing after it is called overdue.",
            st.WARN,
        ),
        Spacer(1, 4),
    ]


def mar(s: PatientSummary) -> list[Flowable]:
    """The MAR grid for the next 24 h: one row per scheduled dose, in time order."""
    now = s.now
    end = (now.astimezone(UTC) + timedelta(hours=24)).astimezone(now.tzinfo)
    start_text, end_text = when(now, now), when(end, now)
    if now.tzname() != end.tzname():  # the clocks change within these 24 hours
        start_text, end_text = f"{start_text} {now.tzname()}", f"{end_text} {end.tzname()}"
    title = f"MAR — 24 hours from {start_text} to {end_text} (times {s.mar.zone_label})"
    out: list[Flowable] = [
        PageBreak(),
        Marker(context(s, "Medication administration record")),
        para(title, st.H1),
        para(s.mar.time_rule, st.NOTE),
    ]
    m = s.mar
    if s.mar_status is not SectionStatus.PRESENT:
        return [*out, empty(s.mar_status, "medication orders or administrations")]
    out += downtime_notice(s)
    out += _missed(s, "overdue")
    out += _missed(s, "not-charted")
    rows: list[list[Any]] = []
    extra: list[tuple[Any, ...]] = []
    doses = sorted(
        (
            (d.time, d.state, e, d.skipped_time)
            for e in m.scheduled
            for d in e.doses
            if d.state in GRID_STATES
        ),
        key=lambda x: (x[0].astimezone(UTC), x[2].medication.name.lower()),
    )
    day = None
    for t, state, e, skipped in doses:
        if t.date() != day:  # a full-width row names each day: no time is ambiguous
            day = t.date()
            rows.append([p(f"{t:%A %d %B %Y}", st.CELL_BOLD), "", "", "", "", "", "", "", ""])
            r = len(rows)
            extra += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), st.HEAD_BG)]
        m_ = e.medication
        last = e.last_given
        label = LABEL.get(state, "")
        if skipped:  # 02:30 on the night the clocks go forward is 03:30
            label = f"{label} for {skipped}: no {skipped} tonight".strip()
        rows.append(
            [
                markup(
                    f"<b>{esc(wall_clock(t))}</b><br/><font size=8.5><b>{esc(label)}</b></font>",
                    st.DUE,
                )
                if label
                else p(wall_clock(t), st.DUE),
                _drug(s, m_, 1.79 * inch),
                p(m_.dose or "see order", st.DOSE),
                p(m_.route or "see order", st.CELL_BOLD),
                _frequency(e),
                p(
                    f"{clock_on(last.when, t.date(), now)}\n{last.dose}"
                    if last
                    else "none recorded"
                ),
                "",
                "",
                "",
            ]
        )
        if state in ("overdue", "not-charted"):
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
        out.append(para("No scheduled doses in the next 24 hours.", st.EMPTY))
    unscheduled = [e for e in m.scheduled if not e.doses]
    if unscheduled:
        out.append(para("Scheduled orders without clock times (give as directed)", st.H2))
        out.append(
            headed_table(
                ["Drug · dose · route", "Frequency", "Last given"],
                [
                    [
                        _dose_cell(e.medication, s, 4.2 * inch),
                        p(e.medication.frequency),
                        p(when(e.last_given.when, now) if e.last_given else "—"),
                    ]
                    for e in unscheduled
                ],
                [4.2 * inch, 1.6 * inch, 1.8 * inch],
            )
        )
    out += infusions(s)
    out += prn(s)
    out += administrations(s)
    return out


def _frequency(e: MarEntry) -> Any:
    """The frequency; when Standby worked the clock times out (neither the order nor a
    dose given states them), "times derived: check the order" under it."""
    if not e.derived_from:
        return p(e.medication.frequency)
    return markup(
        f"{esc(e.medication.frequency)}<br/>"
        "<font size=7.5><b>times derived: check the order</b></font>",
        st.CELL,
    )


def _missed(s: PatientSummary, state: str) -> list[Flowable]:
    """The list of overdue (or, during a downtime, not charted) doses, each with its day."""
    m = s.mar
    if state == "overdue":
        found = [(t, e) for e in m.scheduled for t in e.overdue]
        if m.charted_until is not None:
            head = (
                "OVERDUE before the EHR went down (as of "
                f"{esc(local_text(m.charted_until, s.now))}) — check the paper MAR: "
                "it may have been given since."
            )
        else:
            head = "OVERDUE — scheduled, not documented as given:"
    else:
        found = [(t, e) for e in m.scheduled for t in e.not_charted]
        head = "NOT CHARTED since the EHR went down — check the paper MAR before giving:"
    if not found:
        return []
    lines = "<br/>".join(
        " ".join(esc(x) for x in (when(t, s.now), *_named(e)) if x)
        for t, e in sorted(found, key=lambda x: x[0].astimezone(UTC))
    )
    return [markup(f"<b>{head}</b><br/>{lines}", st.WARN), Spacer(1, 4)]


def _named(e: MarEntry) -> tuple[str, str, str]:
    """Drug, dose (unless the name says it already), route."""
    m = e.medication
    return (m.name, m.dose_unless_named, m.route)


def infusions(s: PatientSummary) -> list[Flowable]:
    """Continuous infusions: current rate, its last change, the ordered rate and the
    titration instructions, then lines to document rate changes on paper."""
    if not s.mar.infusions:
        return []
    out: list[Flowable] = [
        CondPageBreak(2.2 * inch),
        para("CONTINUOUS INFUSIONS (drips)", st.H2),
    ]
    if s.mar.in_downtime:
        out.append(
            para(
                "Rates as charted before the EHR went down: check the pump and the paper record.",
                st.WARN,
            )
        )
    for e in s.mar.infusions:
        out.append(_infusion(s, e))
        out.append(Spacer(1, 6))
    return out


def _infusion(s: PatientSummary, e: MarEntry) -> Flowable:
    inf = e.infusion
    assert inf is not None
    change = (
        f"{when(inf.last_change.when, s.now)} to {inf.last_change.rate}"
        if inf.last_change
        else "none documented"
    )
    current = f"<font size=11><b>{esc(inf.current_rate or 'see order')}</b></font>"
    if not inf.documented:
        current += "<br/>as ordered; no rate documented"
    m = e.medication
    info = [
        markup(
            f"<font size={drug_size(m.name, 2.3 * inch)}><b>{esc(m.name)}</b></font>"
            f"{_alert(s, m)}<br/>{esc(m.route or 'route: see order')} · continuous",
            st.MAR_CELL,
        ),
        markup(current, st.CELL),
        p(change),
        p(inf.ordered_rate or "—"),
        p(inf.titration or "—"),
    ]
    rows: list[list[Any]] = [info]
    rows.append(
        [p("Rate changes on paper:", st.CELL_BOLD), "Time", "New rate", "Reason", "Initials"]
    )
    rows += [["", "", "", "", ""] for _ in range(4)]
    extra: list[tuple[Any, ...]] = [
        ("SPAN", (0, 2), (0, len(rows))),
        ("BACKGROUND", (1, 2), (-1, 2), st.LIGHT),
        ("TOPPADDING", (1, 3), (-1, -1), 8),
        ("BOTTOMPADDING", (1, 3), (-1, -1), 8),
    ]
    return headed_table(
        ["Infusion · route", "Current rate", "Last rate change", "Ordered rate", "Titration"],
        rows,
        [2.3 * inch, 1.2 * inch, 1.4 * inch, 1.0 * inch, 1.7 * inch],
        extra=extra,
        zebra=False,
    )


def prn(s: PatientSummary) -> list[Flowable]:
    """Each PRN order with its minimum interval, last dose and next allowed time, and a
    row for every dose the interval allows in 24 hours (q4h: six)."""
    head: list[Flowable] = [para("PRN — AS NEEDED (not scheduled)", st.H2)]
    if not s.mar.prn:
        return [CondPageBreak(1.0 * inch), *head, para("No active PRN orders.", st.EMPTY)]
    out: list[Flowable] = []
    for e in s.mar.prn:  # the heading stays with the first order
        out.append(KeepTogether([*head, _prn(s, e), Spacer(1, 6)]))
        head = []
    return out


_PRN_ROW = 26.0  # the height of an empty dose row (11 pt leading, 8 + 8 padding)


def _prn(s: PatientSummary, e: MarEntry) -> Flowable:
    m = e.medication
    last = e.last_given
    given24 = sum(1 for a in e.administrations if a.given)
    facts = [
        esc(" ".join(x for x in ("PRN", f"for {m.prn_reason}" if m.prn_reason else "") if x)),
        f"<b>{esc(m.interval)}</b>" if m.interval else "minimum interval: see the order",
        esc(f"Last given {when(last.when, s.now)} ({last.dose})" if last else "Not given in 24 h"),
        esc(f"Doses in 24 h: {given24}"),
    ]
    if e.next_allowed is not None:
        # a time, never "now": the sheet is read for hours after it is printed
        nxt = when(e.next_allowed, s.now)
        if e.next_allowed <= s.now:
            nxt += " (already allowed when printed)"
        facts.append(f"<b>NEXT ALLOWED: {esc(nxt)}</b>")
        if s.mar.in_downtime:
            facts.append(
                "(from the last dose charted before the EHR went down: check the paper MAR)"
            )
    n = slots_per_day(m.min_interval)
    widths = [2.3 * inch, 1.8 * inch, 0.9 * inch, 0.8 * inch, 1.2 * inch, 0.6 * inch]
    first: list[Any] = [_dose_cell(m, s), markup("<br/>".join(facts), st.CELL)]
    rows: list[list[Any]] = [[*(first if i == 0 else ["", ""]), "", "", "", ""] for i in range(n)]
    extra: list[tuple[Any, ...]] = [
        ("TOPPADDING", (2, 1), (-1, -1), 8),
        ("BOTTOMPADDING", (2, 1), (-1, -1), 8),
    ]
    # the order's cells span its dose rows, unless they are taller than those rows (a
    # spanned cell cannot split across pages): then they stay in the first row
    tallest = max(c.wrap(w - 6.5, 10_000)[1] for c, w in zip(first, widths, strict=False))
    if tallest <= n * _PRN_ROW:
        extra += [("SPAN", (0, 1), (0, n)), ("SPAN", (1, 1), (1, n))]
    return headed_table(
        ["Drug · dose · route", "When / interval", "Time given", "Dose", "Reason", "Initials"],
        rows,
        widths,
        extra=extra,
        zebra=False,
    )


def _from_journal(a: Administration) -> bool:
    """Documented in Standby during the downtime (`standby.journal.overlay` ids)."""
    return a.id.startswith("journal-")


def _pending_note(s: PatientSummary, a: Administration) -> str:
    """Why the EHR does not hold this administration, if it does not."""
    if _from_journal(a):
        return "\nin Standby, not yet in the EHR"
    fed = s.mar.received_in_downtime(a)
    return f"\nreceived during downtime from {fed} — not seen in the EHR" if fed else ""


def administrations(s: PatientSummary) -> list[Flowable]:
    out: list[Flowable] = [
        CondPageBreak(1.2 * inch),
        para("Administrations in the last 24 hours", st.H2),
    ]
    if s.mar.charted_until is not None:
        out.append(
            para(
                "As charted in the EHR: nothing after "
                f"{local_text(s.mar.charted_until, s.now)}. Doses documented in Standby since "
                'then are listed, marked "in Standby"; doses on paper are not — see the '
                "paper MAR.",
                st.WARN,
            )
        )
    recent: list[Administration] = s.mar.recent
    if not recent:
        return [*out, para("No administrations recorded in the last 24 hours.", st.EMPTY)]
    rows = [
        [
            p(when(a.when, s.now)),
            p(a.medication, st.CELL_BOLD),
            p(" at ".join(x for x in (a.dose, a.rate) if x)),
            p(a.route),
            p(a.status_text + (f": {a.reason_not_given}" if a.reason_not_given else "")),
            p(a.performer + _pending_note(s, a)),
        ]
        for a in recent
    ]
    out.append(
        headed_table(
            ["Time", "Drug", "Dose", "Route", "Status", "By"],
            rows,
            [1.25 * inch, 2.35 * inch, 0.9 * inch, 0.9 * inch, 1.0 * inch, 1.2 * inch],
        )
    )
    return out
