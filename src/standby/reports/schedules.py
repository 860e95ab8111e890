"""OR schedule per room and clinic schedules per provider (with the patient's phone: the
list someone will call from to cancel or confirm). Renders `standby.clinical` schedules."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable

from standby.clinical.schedules import PRIORITY_WORDS, ClinicSchedule, ORSchedule
from standby.reports import styles as st
from standby.reports.pages import Context, Marker
from standby.reports.tables import esc, headed_table, markup, p
from standby.reports.text import para


def _hm(dt: object) -> str:
    return dt.strftime("%H:%M") if hasattr(dt, "strftime") else "—"


def _priority(word: str) -> str:
    """EMERGENT boxed and bold, URGENT bold, ELECTIVE plain: the word, never a number."""
    if word == "emergent":
        return "<b>EMERGENT</b>"
    if word == "urgent":
        return "<b>URGENT</b>"
    return esc(word.upper()) if word else "not set"


def or_legend() -> Flowable:
    return markup(
        "<b>Priority:</b> "
        + " · ".join(
            f"<b>{esc(w.upper())}</b> {esc(m.split(': ', 1)[1])}" for w, m in PRIORITY_WORDS.items()
        ),
        st.CELL,
    )


def or_sheet(s: ORSchedule) -> list[Flowable]:
    title = f"OR schedule — {s.day:%A %d %B %Y}"
    out: list[Flowable] = [
        Marker(Context(group="or", title=title)),
        para(f"{title} — {s.cases} case(s)", st.H1),
    ]
    if not s.rooms:
        return [*out, para("No surgeries scheduled for this day in the replica.", st.EMPTY)]
    out.append(or_legend())
    for room in s.rooms:
        out.append(CondPageBreak(1.5 * inch))
        out.append(para(f"{room.name} — {len(room.cases)} case(s)", st.H2))
        rows, extra = [], []
        for i, c in enumerate(room.cases, start=1):
            pt = c.patient
            who = (
                (
                    f"<b>{esc(pt.name)}</b><br/>"
                    f"DOB&nbsp;{esc(pt.dob)} · MRN&nbsp;{esc(pt.mrn)}<br/>"
                    + (f"<b>Inpatient: {esc(pt.location)}</b>" if pt.location else "Not admitted")
                    + f"<br/>{esc(pt.phone)}"
                )
                if pt
                else "patient not in replica"
            )
            rows.append(
                [
                    p(f"{_hm(c.start)}–{_hm(c.end)}", st.CELL_BOLD),
                    markup(who, st.CELL),
                    p(c.procedure),
                    p(f"{c.surgeon or '—'}\nAnesthesia: {c.anesthesiologist or '—'}"),
                    markup(_priority(c.priority), st.CELL),
                    p(c.status_text or "—"),
                ]
            )
            if c.priority == "emergent":
                extra.append(("BOX", (4, i), (4, i), 1.5, st.RED))
        out.append(
            headed_table(
                ["Time", "Patient", "Procedure", "Surgeon · anesthesia", "Priority", "Status"],
                rows,
                [1.0 * inch, 2.6 * inch, 2.4 * inch, 1.9 * inch, 0.95 * inch, 1.15 * inch],
                extra=extra,
            )
        )
    return out


def clinic_sheet(s: ClinicSchedule) -> list[Flowable]:
    title = f"Clinic schedules — {s.day:%A %d %B %Y}"
    out: list[Flowable] = [
        Marker(Context(group="clinics", title=title)),
        para(f"{title} — {s.visits} visit(s)", st.H1),
    ]
    if not s.providers:
        return [
            *out,
            para("No clinic visits scheduled for this day in the replica.", st.EMPTY),
        ]
    for prov in s.providers:
        out.append(CondPageBreak(1.5 * inch))
        out.append(
            para(
                f"{prov.name} {('— ' + prov.role) if prov.role else ''} — "
                f"{len(prov.visits)} visit(s)",
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
