"""One patient's documentation written in Standby during a downtime, on paper: for the
chart and for handover (docs/journal.md#paper).

Every entry, oldest first — one struck out is printed struck through with who struck it,
when and why, one corrected says "corrected by" the entry that replaces it (printed in its
own row): nothing disappears from paper. For each: when it was done and when entered,
what, in the same words as the viewer (`standby.journal.words`), who did it, how it was
captured (at the bedside, or transcribed from paper by whom), the node, and its UUID (the
identifier it will carry in the EHR). Notes are printed whole. Every page carries the
patient's identifiers, "data as of" and the downtime banner, and says at the top that none
of it is in the EHR yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportlab.lib.units import inch
from reportlab.platypus import Flowable

from standby.fhir.summary import PatientSummary
from standby.journal import words
from standby.journal.entries import Capture, Entry, Kind
from standby.reports import styles as st
from standby.reports.pages import Marker, local_text
from standby.reports.patient_header import context
from standby.reports.tables import esc, headed_table, markup, p
from standby.reports.text import para

TITLE = "Documented in Standby during the downtime"


def _details(e: Entry, fate: tuple[str, Entry] | None, s: PatientSummary) -> Flowable:
    """The entry's words; struck through (with who, when, why) or "corrected by"."""
    text = esc(f"{words.details(e)}")
    if fate is None:
        of = f"<br/><i>correction of {esc(e.corrects[:8])}</i>" if e.corrects else ""
        return markup(f"{text}{of}<br/>{esc(e.id)}")
    how, by = fate
    when = esc(local_text(by.recorded_at, s.now))
    if how == "struck":
        why = esc(str(by.payload.get("reason", "")))
        return markup(
            f"<strike>{text}</strike><br/><b>STRUCK OUT</b> by {esc(by.author_name)}, {when}: "
            f"{why}<br/>{esc(e.id)}"
        )
    return markup(
        f"<strike>{text}</strike><br/><b>CORRECTED</b> by {esc(by.author_name)}, {when}: "
        f"see {esc(by.id[:8])}<br/>{esc(e.id)}"
    )


def documentation(
    s: PatientSummary,
    entries: Sequence[Entry],
    fate: Mapping[str, tuple[str, Entry]] | None = None,
    *,
    drill: bool = False,
) -> list[Flowable]:
    """`entries` in the order written; `fate`: the struck ("struck", the strike) and the
    corrected ("corrected", the correction), by id; `drill`: a drill's entries (never
    sent to the EHR)."""
    fate = fate or {}
    out: list[Flowable] = [
        Marker(context(s, TITLE)),
        para(TITLE, st.H1),
        para(
            "DRILL: practice entries, kept apart and never sent to the EHR."
            if drill
            else "Entered on Standby while the EHR was down: not yet in the EHR. Back-entry "
            "files each entry once, by the identifier printed under it.",
            st.WARN,
        ),
    ]
    if not entries:
        return [*out, para("Nothing documented on this patient in Standby.", st.EMPTY)]
    rows = []
    for e in entries:
        captured = (
            f"transcribed by {e.transcribed_by}" if e.capture is Capture.TRANSCRIBED else "bedside"
        )
        done, entered = local_text(e.performed_at, s.now), local_text(e.recorded_at, s.now)
        rows.append(
            [
                p(f"{done}\nentered {entered}"),
                p(words.what(e), st.CELL_BOLD),
                _details(e, fate.get(e.id), s),
                p(f"{e.author_name}\n{e.role} · {captured} · {e.node}"),
            ]
        )
    out.append(
        headed_table(
            ["Done at", "What", "Details (and the entry's identifier)", "By"],
            rows,
            [1.35 * inch, 1.0 * inch, 3.1 * inch, 1.75 * inch],
        )
    )
    for e in entries:
        if e.kind is Kind.NOTE and e.id not in fate:
            out.append(
                para(
                    f"{e.payload['title']} — {local_text(e.performed_at, s.now)}, {e.author_name}",
                    st.H2,
                )
            )
            for block in str(e.payload["text"]).split("\n\n"):
                out.append(para(block.strip(), st.NOTE))
    return out
