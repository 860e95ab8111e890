"""The unit census sheet (landscape): every bed, two identifiers, attending, diagnosis,
code status (a limiting one as an inverted mark), allergies, isolation and flags, and the
doses due in the next 2 hours (each time with its day when it is not the sheet's; during
a downtime, "not charted — check the paper MAR" instead of overdue).
Renders a `standby.fhir.census.Census`."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable

from standby.fhir.census import Census
from standby.fhir.summary_model import AllergyStatus
from standby.reports import styles as st
from standby.reports.pages import Context, Marker, local_text
from standby.reports.patient_header import code_status_cell
from standby.reports.tables import esc, headed_table, markup, p
from standby.reports.text import para

CODE_W = 1.05 * inch


def census_sheet(c: Census) -> list[Flowable]:
    name = c.unit_name if c.unit_name.startswith(c.unit) else f"{c.unit} {c.unit_name}"
    title = f"Unit census — {name}"
    out: list[Flowable] = [
        Marker(Context(group=f"census:{c.unit_id}", title=title)),
        para(f"{title} — {len(c.occupied)} of {len(c.beds)} beds occupied", st.H1),
    ]
    if c.charted_until is not None:
        out.append(
            markup(
                "EHR DOWNTIME: doses given since "
                f"{esc(local_text(c.charted_until, c.now))} are not in this copy. A dose "
                "after that time is shown as NOT CHARTED — check the paper MAR; none is "
                "called overdue.",
                st.WARN,
            )
        )
    if not c.beds:
        return [*out, para("No beds or patients on this unit in the replica.", st.EMPTY)]
    rows = []
    extra = []
    for i, b in enumerate(c.beds, start=1):
        x = b.patient
        if x is None:
            rows.append([p(b.bed, st.CELL_BOLD), p("(empty)", st.EMPTY), "", "", "", "", "", ""])
            continue
        allergy = x.allergies.text
        if x.allergies.status is AllergyStatus.LISTED:
            allergy = "; ".join(a.line for a in x.allergies.items)
        flags = [*x.isolation, *x.other_flags]
        alert = x.allergies.status is not AllergyStatus.NO_KNOWN_ALLERGIES
        due = "<br/>".join(esc(d.text(c.now)) for d in x.due) or "none"
        rows.append(
            [
                p(b.bed or "no bed", st.CELL_BOLD),
                markup(
                    f"<b>{esc(x.name)}</b><br/>DOB {esc(x.dob)} · {esc(x.age)} {esc(x.sex)}"
                    f"<br/>{'Downtime MRN' if x.id.startswith('journal-') else 'MRN'}"
                    f" {esc(x.mrn)}" + (f"<br/><b>{esc(b.downtime)}</b>" if b.downtime else ""),
                    st.CELL,
                ),
                p(x.attending),
                p(f"{x.admission_reason or 'not recorded'}\nLOS {x.length_of_stay}"),
                code_status_cell(x.code_status, CODE_W - 6),
                p(allergy, st.CELL_ALERT if alert else st.CELL),
                p(", ".join(flags) or "—"),
                markup(due, st.SMALL),
            ]
        )
        if x.overdue or x.not_charted:
            extra.append(("BACKGROUND", (7, i), (7, i), st.OVERDUE_BG))
    out.append(
        headed_table(
            [
                "Bed",
                "Patient",
                "Attending",
                "Reason / LOS",
                "Code status",
                "Allergies",
                "Isolation / flags",
                "Due next 2 h",
            ],
            rows,
            [
                0.8 * inch,
                1.7 * inch,
                0.95 * inch,
                1.2 * inch,
                CODE_W,
                1.6 * inch,
                1.0 * inch,
                1.8 * inch,
            ],
            extra=extra,
            zebra=False,
        )
    )
    if c.departed:
        out.append(para("Left this unit during the downtime — not yet in the EHR", st.H2))
        out.append(
            headed_table(
                ["Patient", "Where to", "When"],
                [
                    [
                        markup(
                            f"<b>{esc(x.name)}</b><br/>DOB {esc(x.dob)} · MRN {esc(x.mrn)}",
                            st.CELL,
                        ),
                        p(x.what),
                        p(local_text(x.at, c.now)),
                    ]
                    for x in c.departed
                ],
                [3.0 * inch, 4.0 * inch, 2.0 * inch],
                zebra=False,
            )
        )
    return out
