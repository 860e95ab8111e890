"""The back-entry reconciliation report on paper (docs/recovery.md#reconciliation-report).

This package does not read back-entry's state: the composition root gives a `Sheet` of
text (the statement, the figures, the count tables, the entries that remain). The
statement comes first, in red when back-entry is not complete; every page carries "data
as of" and the banner like every packet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import inch
from reportlab.platypus import Flowable

from standby.reports import styles as st
from standby.reports.pages import Context, Furniture, Marker
from standby.reports.render import PDF, _build
from standby.reports.tables import headed_table, key_values, p
from standby.reports.text import para

TITLE = "Back-entry reconciliation"
WIDTH = 7.6 * inch


@dataclass(frozen=True)
class CountTable:
    title: str  # "By unit"
    header: Sequence[str]  # first column's name, then the statuses
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Sheet:
    statement: str
    complete: bool
    figures: Sequence[tuple[str, str]]
    tables: Sequence[CountTable]
    remaining_header: Sequence[str]
    remaining: Sequence[Sequence[str]]


def _counts(t: CountTable) -> list[Flowable]:
    first = 1.6 * inch
    rest = (WIDTH - first) / max(1, len(t.header) - 1)
    return [
        para(t.title, st.H2),
        headed_table(
            list(t.header),
            [[p(c) for c in r] for r in t.rows],
            [first, *[rest] * (len(t.header) - 1)],
        ),
    ]


def sheet(s: Sheet) -> list[Flowable]:
    out: list[Flowable] = [
        Marker(Context(group="reconciliation", title=TITLE)),
        para(TITLE, st.H1),
        para(s.statement, st.H2 if s.complete else st.WARN),
        key_values(list(s.figures), WIDTH),
    ]
    for t in s.tables:
        out += _counts(t)
    out.append(para("What remains (not in the EHR yet)", st.H2))
    if not s.remaining:
        out.append(
            para(
                "Nothing remains: every entry is accounted for."
                if s.complete
                else "No entry is known to back-entry: see the statement above.",
                st.BODY if s.complete else st.WARN,
            )
        )
    else:
        widths = [1.15, 0.8, 0.8, 1.7, 0.75, 1.05, 1.35]
        out.append(
            headed_table(
                list(s.remaining_header),
                [[p(c) for c in r] for r in s.remaining],
                [w * inch for w in widths],
            )
        )
    return out


def reconciliation_pdf(s: Sheet, f: Furniture) -> PDF:
    return _build(sheet(s), f, title=TITLE)
