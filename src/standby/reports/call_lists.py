"""Call lists on paper: per clinic and per surgeon, the patients to call because their
surgery or visit moves, with two identifiers, phones, what to say (in their language
where there is a script) and empty boxes to write the call's outcome. The caller
(`web/routes/calls.py`) turns `standby.schedule.contacts` lists into these rows
(`reports/` does not import `schedule/`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Flowable

from standby.reports import styles as st
from standby.reports.pages import HOSPITAL_WIDE, Context, Furniture, Marker
from standby.reports.render import PDF, _build
from standby.reports.tables import esc, headed_table, markup, p
from standby.reports.text import para


@dataclass(frozen=True, slots=True)
class CallRow:
    when: str  # "Tue 1 Dec 08:00"
    name: str
    dob: str
    mrn: str
    phones: str
    what: str  # "Laparoscopic cholecystectomy — OR 3" (for the caller, not to be read out)
    decision: str  # "POSTPONE" / "CANCEL"
    say: str
    voicemail: str
    language: str  # "Spanish" / "" + interpreter note
    last_call: str  # "" or "voicemail (sched.a, 30 Nov 04:10)"


@dataclass(frozen=True, slots=True)
class CallSheet:
    title: str
    rows: Sequence[CallRow]


def call_sheets(sheets: Sequence[CallSheet], title: str) -> list[Flowable]:
    out: list[Flowable] = [Marker(Context(group="calls", title=title)), para(title, st.H1)]
    out.append(
        para(
            "Confirm the date of birth before saying anything about the appointment. "
            "On voicemail, read only the voicemail line: no procedure, no clinic.",
            st.WARN,
        )
    )
    if not sheets:
        return [
            *out,
            para("Nobody to call: no surgery or visit is postponed or cancelled.", st.EMPTY),
        ]
    for sheet in sheets:
        out.append(CondPageBreak(1.5 * inch))
        out.append(para(f"{sheet.title} — {len(sheet.rows)} to call", st.H2))
        rows = []
        for r in sheet.rows:
            rows.append(
                [
                    p(r.when, st.CELL_BOLD),
                    markup(
                        f"<b>{esc(r.name)}</b><br/>DOB&nbsp;{esc(r.dob)} · MRN&nbsp;{esc(r.mrn)}"
                        f"<br/><b>{esc(r.phones)}</b>",
                        st.CELL,
                    ),
                    markup(f"<b>{esc(r.decision)}</b><br/>{esc(r.what)}", st.CELL),
                    markup(
                        (f"<b>{esc(r.language)}</b><br/>" if r.language else "")
                        + f"{esc(r.say)}<br/><b>Voicemail:</b> {esc(r.voicemail)}",
                        st.SMALL,
                    ),
                    p(
                        (f"Last: {r.last_call}\n" if r.last_call else "")
                        + "[ ] reached  [ ] voicemail\n[ ] no answer  [ ] wrong number\n"
                        "Cannot come on: ________",
                        st.SMALL,
                    ),
                ]
            )
        out.append(
            headed_table(
                ["When", "Patient · phone", "Decision · case", "What to say", "Outcome"],
                rows,
                [0.95 * inch, 1.8 * inch, 1.5 * inch, 4.1 * inch, 1.65 * inch],
            )
        )
    return out


def call_lists_pdf(sheets: Sequence[CallSheet], f: Furniture, title: str) -> PDF:
    return _build(call_sheets(sheets, title), f, wide=True, title=title, compact=True)


__all__ = ["HOSPITAL_WIDE", "CallRow", "CallSheet", "call_lists_pdf", "call_sheets"]
