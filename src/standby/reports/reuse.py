"""Pages drawn once, printed twice: each patient's MAR is laid out and drawn for `mar.pdf`
and its pages are copied into the same patient's packet in `packets.pdf`.

The MAR section of a packet starts on a new page and the next section starts on a new
page too, in the same frame as `mar.pdf`'s: its pages are the same pages. What a page
body is, is a list of PDF operators (`Canvas._code`, the header and footer are drawn
apart, at save: `standby.reports.pages.PacketCanvas`), with one catch: reportlab numbers
the glyphs of a TrueType subset per document, in the order characters are first drawn.
So the documents of one unit share one numbering (`UnitDrawing.fonts`, one state per
font, each document embedding the glyphs seen so far), and the two fonts are registered
first in every document, under the same names: a copied page then means in `packets.pdf`
what it meant in `mar.pdf`. tests/reports/test_reports_reuse.py checks that a packet
with copied MAR pages reads as one drawn whole.

Only the unit packet sets use it (`standby.reports.regeneration.generate_unit`); the
viewer's single documents draw everything as before.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable

from standby.reports import styles as st
from standby.reports.pages import Context

# the canvas's Python-side drawing state, as a page left it (`Canvas.STATE_ATTRIBUTES`)
_STATE = ("_fontname", "_fontsize", "_leading", "_fillColorObj", "_strokeColorObj")


@dataclass
class DrawnPage:
    code: list[str]  # the page body's operators
    state: dict[str, Any]  # the canvas state at the end of the page


@dataclass
class UnitDrawing:
    """What the documents of one unit share: the glyph numbering and the drawn MARs."""

    fonts: dict[str, Any] = field(default_factory=dict)  # font name → TTFont.State
    mars: dict[str, list[DrawnPage]] = field(default_factory=dict)  # group → pages
    capturing: bool = False  # the document being built is mar.pdf


_current: contextvars.ContextVar[UnitDrawing | None] = contextvars.ContextVar(
    "standby_unit_drawing", default=None
)


@contextlib.contextmanager
def unit_drawing(drawing: UnitDrawing) -> Iterator[UnitDrawing]:
    token = _current.set(drawing)
    try:
        yield drawing
    finally:
        _current.reset(token)


def current() -> UnitDrawing | None:
    return _current.get()


@contextlib.contextmanager
def capturing() -> Iterator[None]:
    d = _current.get()
    if d is None:
        yield
        return
    d.capturing = True
    try:
        yield
    finally:
        d.capturing = False


def begin_document(doc: Any) -> None:
    """Give a new document the unit's glyph numbering, both fonts registered first (F2
    and F3: Helvetica is F1, named by every canvas's preamble)."""
    d = _current.get()
    if d is None:
        return
    for name in (st.FONT, st.BOLD):
        font: Any = pdfmetrics.getFont(name)
        state = d.fonts.get(name)
        if state is None:
            state = d.fonts[name] = type(font).State(font._asciiReadable, font)
        state.internalName = None  # named anew in each document
        state.frozen = 0  # saving a document freezes it: the next adds glyphs
        font.state[doc] = state
        font.getSubsetInternalName(0, doc)


def end_document(pages: list[dict[str, Any]]) -> None:
    """Keep the patient pages of the document being saved, if it is mar.pdf."""
    d = _current.get()
    if d is None:
        return
    for name in (st.FONT, st.BOLD):
        if name in d.fonts:
            d.fonts[name].frozen = 0
    if not d.capturing:
        return
    for p in pages:
        ctx: Context | None = p.get("_page_ctx")
        if ctx is None or not ctx.group.startswith("patient:"):
            continue
        page = DrawnPage(list(p["_code"]), {k: p[k] for k in _STATE if k in p})
        d.mars.setdefault(ctx.group, []).append(page)


def drawn_mar(group: str) -> list[DrawnPage] | None:
    d = _current.get()
    return None if d is None else d.mars.get(group)


class CopiedPage(Flowable):
    """A page drawn in another document of the unit, copied whole: zero size, drawn at
    the top of a fresh page; `ctx`: the section it starts (its marker was on the page)."""

    def __init__(self, page: DrawnPage, ctx: Context | None) -> None:
        super().__init__()
        self.page = page
        self.ctx = ctx
        self.width = self.height = 0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (0, 0)

    def drawOn(self, canvas: Any, x: float, y: float, _sW: float = 0) -> None:
        if self.ctx is not None:  # what its Marker did, at the top of the frame
            canvas.standby_ctx = self.ctx
            if canvas.standby_first_ctx is None:
                canvas.standby_first_ctx = self.ctx
                canvas.standby_starts = True
        canvas._code.extend(self.page.code)
        for k, v in self.page.state.items():
            setattr(canvas, k, v)
