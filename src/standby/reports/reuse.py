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

Between generations, a patient's pages are kept whole (`standby.reports.page_cache`): a
patient whose summary is what it was last time has their pages in `mar.pdf`,
`packets.pdf` and `forms.pdf` copied from the unit's last generation (`UnitDrawing.kept`),
drawn ones are kept for the next (`UnitDrawing.keep`). For that, every unit's numbering is
seeded with one fixed character set (`page_cache.SEED`), and only pages drawn with those
characters alone are kept.

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
from reportlab.platypus import Flowable, PageBreak

from standby.reports import page_cache
from standby.reports import styles as st
from standby.reports.pages import Context

# the canvas's Python-side drawing state, as a page left it (`Canvas.STATE_ATTRIBUTES`)
_STATE = ("_fontname", "_fontsize", "_leading", "_fillColorObj", "_strokeColorObj")


@dataclass
class DrawnPage:
    code: list[str]  # the page body's operators
    state: dict[str, Any]  # the canvas state at the end of the page
    ctx: Context | None = None  # what its header said (a page kept between generations)
    end_ctx: Context | None = None  # the section in force at its end
    grids: list[str] = field(default_factory=list)  # the blank forms' grids it places


@dataclass
class UnitDrawing:
    """What the documents of one unit share: the glyph numbering and the drawn MARs."""

    fonts: dict[str, Any] = field(default_factory=dict)  # font name → TTFont.State
    mars: dict[str, list[DrawnPage]] = field(default_factory=dict)  # group → pages
    capturing: bool = False  # the document being built is mar.pdf
    # between generations (`page_cache`): a patient's pages in one document by their key
    kept: dict[str, list[DrawnPage]] = field(default_factory=dict)  # the last generation's
    keep: dict[str, list[DrawnPage]] = field(default_factory=dict)  # for the next
    fingerprints: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    drawn_pages: int = 0  # patient pages drawn (cacheable or not)
    reused_pages: int = 0  # patient pages copied from the last generation


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


def _watch(font: Any) -> None:
    """Mark the document whenever `font` draws a character outside `page_cache.SEED` (its
    code depends on the order characters were drawn in): such a page is not kept."""
    if getattr(font, "_standby_watched", False):
        return
    split = font.splitString

    def watched(text: Any, doc: Any, *args: Any, **kwargs: Any) -> Any:
        if not page_cache.only_seed(text):
            doc._standby_foreign = True
        return split(text, doc, *args, **kwargs)

    font.splitString = watched
    font._standby_watched = True


def begin_document(doc: Any) -> None:
    """Give a new document the unit's glyph numbering, both fonts registered first (F2
    and F3: Helvetica is F1, named by every canvas's preamble), seeded with
    `page_cache.SEED` in its order."""
    d = _current.get()
    if d is None:
        return
    for name in (st.FONT, st.BOLD):
        font: Any = pdfmetrics.getFont(name)
        _watch(font)
        state = d.fonts.get(name)
        fresh = state is None
        if state is None:
            state = d.fonts[name] = type(font).State(font._asciiReadable, font)
        state.internalName = None  # named anew in each document
        state.frozen = 0  # saving a document freezes it: the next adds glyphs
        font.state[doc] = state
        if fresh:
            font.splitString(page_cache.SEED, doc)
        font.getSubsetInternalName(0, doc)
    doc._standby_foreign = False


def end_document(pages: list[dict[str, Any]]) -> None:
    """Keep the patient pages of the document being saved, if it is mar.pdf."""
    d = _current.get()
    if d is None:
        return
    for name in (st.FONT, st.BOLD):
        if name in d.fonts:
            d.fonts[name].frozen = 0
    _keep_patients(d, pages)
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
        if self.page.grids:  # the forms it places, defined in this document first
            from standby.reports.forms import grids

            known = grids()
            for name in self.page.grids:
                known[name].define(canvas)
        canvas._code.extend(self.page.code)
        canvas._formsinuse.extend(self.page.grids)
        for k, v in self.page.state.items():
            setattr(canvas, k, v)
        if self.page.ctx is not None:  # a whole page kept from the last generation
            canvas.standby_page_ctx = self.page.ctx
            canvas.standby_ctx = self.page.end_ctx
            canvas.standby_copied = True


# ---- between generations (`page_cache`) --------------------------------------------------
def patient_key(part: str, summary: Any, frame: dict[str, Any]) -> str | None:
    """The key of a patient's pages in the document being built (None: not kept)."""
    d = _current.get()
    if d is None:
        return None
    pid = str(summary.header.patient_id)
    memo = d.fingerprints.get(pid)
    if memo is None or memo[0] is not summary:
        memo = d.fingerprints[pid] = (summary, page_cache.fingerprint(summary))
    if memo[1] is None:
        return None
    return page_cache.key(part, frame, memo[1])


def kept_pages(key: str | None) -> list[Flowable] | None:
    """The patient's pages of the last generation, as flowables (None: draw them)."""
    d = _current.get()
    if d is None or key is None:
        return None
    pages = d.kept.get(key)
    if not pages:
        return None
    flow: list[Flowable] = [PatientStart(key)]
    for i, page in enumerate(pages):
        if i:
            flow.append(PageBreak())
        flow.append(CopiedPage(page, None))
    return flow


class PatientStart(Flowable):
    """Zero-size, first on a patient's first page: the pages from here to the next one are
    the patient's (`key`), kept for the next generation if they can be."""

    def __init__(self, key: str | None) -> None:
        super().__init__()
        self.key = key
        self.width = self.height = 0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (0, 0)

    def drawOn(self, canvas: Any, x: float, y: float, _sW: float = 0) -> None:
        canvas.standby_patient = self.key


def _keep_patients(d: UnitDrawing, pages: list[dict[str, Any]]) -> None:
    """Sort the document's patient pages by key; keep each patient's if every page is
    clean (drawn with seeded characters, no other font, no image)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in pages:
        k = p.get("_patient")
        if k is None:
            continue
        groups.setdefault(k, []).append(p)
        if p.get("_copied"):
            d.reused_pages += 1
        else:
            d.drawn_pages += 1
    for k, group in groups.items():
        if all(p.get("_copied") for p in group) and k in d.kept:
            d.keep[k] = d.kept[k]
            continue
        if any(
            p.get("_foreign")
            or p.get("_page_ctx") is None
            or any(p.get(a) for a in ("_annotationrefs", "_colorsUsed", "_shadingUsed"))
            for p in group
        ):
            continue
        grids = [page_cache.clean(p["_code"]) for p in group]
        if any(g is None for g in grids):
            continue
        d.keep[k] = [
            DrawnPage(
                list(p["_code"]),
                {s: p[s] for s in _STATE if s in p},
                p["_page_ctx"],
                p.get("_end_ctx"),
                g or [],
            )
            for p, g in zip(group, grids, strict=True)
        ]
