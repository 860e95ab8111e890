"""Table building blocks shared by the packet sections: headed tables that repeat their
header row on every page and wrap long text (never clip it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from standby.reports import styles as st


def esc(text: object) -> str:
    return escape(str(text)).replace("\n", "<br/>")


def p(text: object, style: Any = st.CELL) -> Paragraph:
    return Paragraph(esc(text), style)


def markup(text: str, style: Any = st.CELL) -> Paragraph:
    """A Paragraph from already-escaped mini-markup (<b>, <br/>, <font>)."""
    return Paragraph(text, style)


def headed_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    extra: Sequence[tuple[Any, ...]] = (),
    zebra: bool = True,
) -> Table:
    """A table whose first row is a grey header repeated on each page; cells that are
    Paragraphs wrap, so nothing is cut off. Rows may split across pages."""
    data = [[p(h, st.CELL_BOLD) for h in header], *[list(r) for r in rows]]
    t = Table(data, colWidths=list(widths), repeatRows=1, splitByRow=1, hAlign="LEFT")
    cmds: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), st.FONT, 9),
        ("BACKGROUND", (0, 0), (-1, 0), st.HEAD_BG),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if zebra and len(rows) > 3:
        cmds.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, st.LIGHT]))
    cmds.extend(extra)
    t.setStyle(TableStyle(cmds))
    return t


def key_values(pairs: Sequence[tuple[str, Any]], width: float) -> Table:
    """Two columns: label, value (value wraps)."""
    data = [[p(k, st.CELL_BOLD), v if isinstance(v, Flowable) else p(v or "—")] for k, v in pairs]
    t = Table(data, colWidths=[1.45 * 72, width - 1.45 * 72], hAlign="LEFT", splitByRow=1)
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return t
