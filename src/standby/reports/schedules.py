"""OR schedule per room and clinic schedules per provider (with the patient's phone: the
list someone will call from to cancel or confirm). Renders `standby.clinical` schedules."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable, Paragraph

from standby.clinical.schedules import ClinicSchedule, ORSchedule
from standby.reports import styles as st
from standby.reports.pages import Context, Marker
from standby.reports.tables import esc, headed_table, markup, p


def _hm(dt: object) -> str:
    return dt.strftime("%H:%M") if hasattr(dt, "strftime") else "—"


def or_sheet(s: ORSchedule) -> list[Flowable]:
    title = f"OR schedule — {s.day:%A %d %B %Y}"
    out: list[Flowable] = [
        Marker(Context(group=f"or:{s.day}", title=title)),
        Paragraph(esc(f"{title} — {s.cases} case(s)"), st.H1),
    ]
    if not s.rooms:
        return [*out, Paragraph("No surgeries scheduled for this day in the replica.", st.EMPTY)]
    for room in s.rooms:
        out.append(CondPageBreak(1.5 * inch))
        out.append(Paragraph(esc(f"{room.name} — {len(room.cases)} case(s)"), st.H2))
        rows = []
        for c in room.cases:
            pt = c.patient
            who = (
                (
                    f"<b>{esc(pt.name)}</b><br/>DOB {esc(pt.dob)} · MRN {esc(pt.mrn)}<br/>"
                    f"{esc(pt.phone)}"
                )
                if pt
                else "patient not in replica"
            )
            rows.append(
                [
                    p(f"{_hm(c.start)}–{_hm(c.end)}", st.CELL_BOLD),
                    markup(who, st.CELL),
                    p(c.procedure),
                    p(c.surgeon or "—"),
                    p(c.anesthesiologist or "—"),
                    p(" · ".join(x for x in (c.status, c.priority) if x)),
                ]
            )
        out.append(
            headed_table(
                ["Time", "Patient", "Procedure", "Surgeon", "Anesthesia", "Status"],
                rows,
                [1.0 * inch, 2.3 * inch, 2.5 * inch, 1.4 * inch, 1.4 * inch, 1.1 * inch],
            )
        )
    return out


def clinic_sheet(s: ClinicSchedule) -> list[Flowable]:
    title = f"Clinic schedules — {s.day:%A %d %B %Y}"
    out: list[Flowable] = [
        Marker(Context(group=f"clinic:{s.day}", title=title)),
        Paragraph(esc(f"{title} — {s.visits} visit(s)"), st.H1),
    ]
    if not s.providers:
        return [
            *out,
            Paragraph("No clinic visits scheduled for this day in the replica.", st.EMPTY),
        ]
    for prov in s.providers:
        out.append(CondPageBreak(1.5 * inch))
        out.append(
            Paragraph(
                esc(
                    f"{prov.name} {('— ' + prov.role) if prov.role else ''} — "
                    f"{len(prov.visits)} visit(s)"
                ),
                st.H2,
            )
        )
        rows = []
        for v in prov.visits:
            pt = v.patient
            rows.append(
                [
                    p(f"{_hm(v.start)}–{_hm(v.end)}", st.CELL_BOLD),
                    p(pt.name if pt else "patient not in replica", st.CELL_BOLD),
                    p(f"DOB {pt.dob}\nMRN {pt.mrn}" if pt else ""),
                    p(
                        ", ".join(pt.phones) if pt and pt.phones else "no phone recorded",
                        st.CELL_BOLD,
                    ),
                    p(v.reason),
                    p(v.clinic),
                    "",
                ]
            )
        out.append(
            headed_table(
                ["Time", "Patient", "DOB / MRN", "Phone", "Reason", "Clinic", "Called / outcome"],
                rows,
                [
                    0.95 * inch,
                    1.7 * inch,
                    1.3 * inch,
                    1.6 * inch,
                    1.6 * inch,
                    1.3 * inch,
                    1.3 * inch,
                ],
            )
        )
    return out
