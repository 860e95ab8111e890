"""Table building blocks shared by the packet sections: headed tables that repeat their
header row on every page and wrap long text (never clip it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Table, TableStyle

from standby.reports import styles as st
from standby.reports.text import esc, para
from standby.reports.text import markup as text_markup

__all__ = ["esc", "headed_table", "key_values", "markup", "p"]


@dataclass(frozen=True, slots=True)
class Cell:
    """Plain text for a table cell: drawn as a string when it fits its column (fast),
    wrapped as a Paragraph when it does not (never clipped)."""

    text: str
    style: ParagraphStyle


def p(text: object, style: ParagraphStyle = st.CELL) -> Cell:
    return Cell(str(text), style)


PAD = 6.5  # left + right cell padding, and a little slack


def _resolve(data: list[list[Any]], widths: Sequence[float], cmds: list[tuple[Any, ...]]) -> None:
    for r, row in enumerate(data):
        for c, v in enumerate(row):
            if not isinstance(v, Cell):
                continue
            sty = v.style
            room = widths[c] - PAD
            # no glyph is wider than 1.1 em: short text fits without measuring it
            if (len(v.text) * sty.fontSize * 1.1 <= room and "\n" not in v.text) or all(
                stringWidth(line, sty.fontName, sty.fontSize) <= room for line in v.text.split("\n")
            ):
                row[c] = v.text
                if sty.fontName != st.FONT or sty.fontSize != 9:
                    cmds.append(("FONT", (c, r), (c, r), sty.fontName, sty.fontSize, sty.leading))
                if sty.textColor != colors.black:
                    cmds.append(("TEXTCOLOR", (c, r), (c, r), sty.textColor))
            else:
                row[c] = para(v.text, sty)


def markup(text: str, style: Any = st.CELL) -> Flowable:
    """A cell of already-escaped mini-markup (<b>, <br/>, <font>): `text.markup`."""
    return text_markup(text, style)


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
    data: list[list[Any]] = [[p(h, st.CELL_BOLD) for h in header], *[list(r) for r in rows]]
    cmds: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), st.FONT, 9, 11),
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
    _resolve(data, widths, cmds)
    cmds.extend(extra)
    t = Table(data, colWidths=list(widths), repeatRows=1, splitByRow=1, splitInRow=1, hAlign="LEFT")
    t.setStyle(TableStyle(cmds))
    return t


def key_values(pairs: Sequence[tuple[str, Any]], width: float) -> Table:
    """Two columns: label, value (value wraps)."""
    data: list[list[Any]] = [
        [p(k, st.CELL_BOLD), v if isinstance(v, Flowable) else p(v or "—")] for k, v in pairs
    ]
    widths = [1.45 * 72, width - 1.45 * 72]
    cmds: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), st.FONT, 9, 11),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    _resolve(data, widths, cmds)
    t = Table(data, colWidths=widths, hAlign="LEFT", splitByRow=1, splitInRow=1)
    t.setStyle(TableStyle(cmds))
    return t
