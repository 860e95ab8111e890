"""Page furniture of every packet: header, footer, banner, "page x of y".

Two passes in one: `PacketCanvas` keeps each finished page's drawing state and, when the
document is saved, draws the header and footer on every page knowing the totals (the
"NumberedCanvas" recipe). What a page's header says comes from `Context` markers placed
in the story (a zero-size flowable): a patient's first page starts with one, so each page
knows whose it is. Page numbers count within the page's group (one patient, or the whole
document for unit-level sheets).

Every page carries: the optional banner ("DOWNTIME", "DRILL"), the title, for patient
pages the two identifiers (name + DOB + MRN) and allergies, "Data as of <time>", the
unit, "Page x of y" and a confidentiality line.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from standby.reports import styles as st

MARGIN = 0.45 * inch
HEADER_H = 1.28 * inch
COMPACT_H = 0.32 * inch
FOOTER_H = 0.50 * inch
BANNER_H = 0.30 * inch
CONFIDENTIAL = (
    "CONFIDENTIAL — protected health information. Keep on the unit; shred when the "
    "downtime ends. Synthetic demonstration data."
)
MAX_ALLERGY_LINES = 3
HOSPITAL_WIDE = "all"  # the `unit` of the sheets that cover the whole hospital (schedules)


@dataclass(frozen=True)
class Context:
    """What the header of the pages that follow says."""

    group: str  # pages are numbered within a group ("patient:123", "unit:4W")
    title: str  # "Medication administration record"
    patient_line: str = ""  # "SMITH, John · DOB 1957-03-02 · MRN 100234"
    patient_extra: str = ""  # "69 y M · 4W 412-B · Full code · 72 kg · Contact precautions"
    allergies: str = ""  # "" = not a patient page
    allergy_alert: bool = False  # red box (allergies listed, or not recorded)
    code_mark: str = ""  # "DNR", "DNI", "LIMITS": drawn inverted beside the extra line
    code_words: str = ""  # "do not resuscitate"


@dataclass
class Furniture:
    """Document-wide text of the footer and banner."""

    data_as_of: datetime | None
    generated: datetime
    unit: str
    banner: str | None = None
    compact: bool = False  # no patient lines in the header (census, schedules, labels)
    extra: dict[str, Any] = field(default_factory=dict)
    # during a downtime: when the EHR stopped hearing of charting (the MARs are built with
    # it, `standby.fhir.mar.charting_cutoff`); None in normal operation
    charted_until: datetime | None = None
    #: an edge node's packets: the data is its copy of the central Standby's, and says so
    edge: bool = False

    @property
    def scope(self) -> str:
        """What the document covers: "Unit 4W", or "All units" for hospital-wide sheets."""
        return "All units" if self.unit == HOSPITAL_WIDE else f"Unit {self.unit}"

    @property
    def scope_in_line(self) -> str:
        """The same within a line of text: "unit 4W", "all units"."""
        return "all units" if self.unit == HOSPITAL_WIDE else f"unit {self.unit}"

    @property
    def as_of_text(self) -> str:
        if self.data_as_of is None:
            return "Data as of: UNKNOWN (no sync recorded)"
        whose = " (copy of the central Standby)" if self.edge else ""
        return f"Data as of {local_text(self.data_as_of, self.generated)}{whose}"


def local_text(dt: datetime, now: datetime) -> str:
    """`2026-11-29 14:05 EST`: `dt` in the zone of `now` (the hospital's), with its name."""
    local = dt.astimezone(now.tzinfo) if now.tzinfo else dt
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC")


class Marker(Flowable):
    """Zero-size flowable: from here on, the header is `ctx` (also starts a section)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.width = self.height = 0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (0, 0)

    def drawOn(self, canvas: Any, x: float, y: float, _sW: float = 0) -> None:
        self._y = y
        super().drawOn(canvas, x, y, _sW)

    def draw(self) -> None:
        canv: Any = self.canv
        canv.standby_ctx = self.ctx
        if getattr(canv, "standby_first_ctx", None) is None:
            canv.standby_first_ctx = self.ctx
            # a marker at the very top of the frame starts the page: its header wins
            canv.standby_starts = self._y >= getattr(canv, "top_y", float("inf")) - 1


class PacketCanvas(Canvas):
    """Canvas that defers header/footer drawing to `save()` so it can say "page x of y"."""

    furniture: Furniture  # set by `make_canvas`
    top_y: float = float("inf")  # where the frame's first flowable is drawn

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.standby_ctx: Context | None = None
        self.standby_first_ctx: Context | None = None
        self.standby_carried: Context | None = None  # in force when the page began
        self.standby_starts = False  # the page began with a marker
        # a page kept from the last generation says whose it is (`reuse.CopiedPage`)
        self.standby_page_ctx: Context | None = None
        self.standby_copied = False
        self.standby_patient: str | None = None  # whose pages these are (`reuse.PatientStart`)
        from standby.reports import reuse  # (imports this module)

        reuse.begin_document(self._doc)

    def showPage(self) -> None:
        state = dict(self.__dict__)
        if self.standby_page_ctx is not None:
            state["_page_ctx"] = self.standby_page_ctx
        elif self.standby_starts:
            state["_page_ctx"] = self.standby_first_ctx
        else:
            state["_page_ctx"] = page_context(
                self.standby_carried, self.standby_first_ctx, self.standby_ctx
            )
        state["_end_ctx"] = self.standby_ctx
        state["_patient"] = self.standby_patient
        state["_copied"] = self.standby_copied
        state["_foreign"] = getattr(self._doc, "_standby_foreign", False)
        self._doc._standby_foreign = False
        self._pages.append(state)
        self._startPage()
        self.standby_first_ctx = None
        self.standby_starts = False
        self.standby_page_ctx = None
        self.standby_copied = False
        self.standby_carried = self.standby_ctx

    def save(self) -> None:
        from standby.reports import reuse

        reuse.end_document(self._pages)  # the page bodies, before the furniture
        totals: dict[str, int] = {}
        for p in self._pages:
            ctx = p["_page_ctx"]
            key = ctx.group if ctx else ""
            totals[key] = totals.get(key, 0) + 1
        seen: dict[str, int] = {}
        n = len(self._pages)
        for i, p in enumerate(self._pages):
            ctx = p.pop("_page_ctx")
            self.__dict__.update(p)
            key = ctx.group if ctx else ""
            seen[key] = seen.get(key, 0) + 1
            draw_furniture(self, self.furniture, ctx, seen[key], totals[key], i + 1, n)
            Canvas.showPage(self)
        Canvas.save(self)


def page_context(
    carried: Context | None, first: Context | None, last: Context | None
) -> Context | None:
    """Whose page it is and what it shows: a page that starts a new group (a new patient)
    takes the first marker drawn on it; a page that continues a group keeps the section
    in force when it began."""
    if carried is None or (first is not None and first.group != carried.group):
        return first or last
    return carried


def make_canvas(furniture: Furniture) -> type[PacketCanvas]:
    return type("BoundPacketCanvas", (PacketCanvas,), {"furniture": furniture})


@functools.lru_cache(maxsize=4096)
def _fit(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """Word-wrap `text` into lines no wider than `width` (cached: every page of a patient
    repeats the same header)."""
    words, lines, line = text.split(), [], ""
    for w in words:
        trial = f"{line} {w}".strip()
        if stringWidth(trial, font, size) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = w
    if line:
        lines.append(line)
    return tuple(lines)


def draw_furniture(
    canv: Canvas, f: Furniture, ctx: Context | None, x: int, y: int, sheet: int, sheets: int
) -> None:
    w, h = canv._pagesize
    left, right = MARGIN, w - MARGIN
    top = h - MARGIN
    canv.saveState()
    if f.banner:
        canv.setFillColor(st.RED)
        canv.rect(left, top - BANNER_H, right - left, BANNER_H, stroke=0, fill=1)
        canv.setFillColor(colors.white)
        canv.setFont(st.BOLD, 13)
        canv.drawCentredString(w / 2, top - BANNER_H + 7, f"{f.banner} — {f.banner} — {f.banner}")
        top -= BANNER_H + 4
    canv.setFillColor(colors.black)
    title = ctx.title if ctx else ""
    scope = f"{f.scope} · {f.as_of_text}"
    canv.setFont(st.FONT, 9)
    canv.drawRightString(right, top - 10, scope)
    room = right - left - stringWidth(scope, st.FONT, 9) - 12
    text, size = _fit_or_cut(title, st.BOLD, 10, room)
    canv.setFont(st.BOLD, size)
    canv.drawString(left, top - 10, text)
    if ctx and ctx.patient_line:
        _identifiers(canv, ctx, left, right, top - 27)
        room = right - left - (_code_mark(canv, ctx, right, top - 40) + 8)
        text, size = _fit_or_cut(ctx.patient_extra, st.FONT, 9.5, room)
        canv.setFont(st.FONT, size)
        canv.drawString(left, top - 40, text)
        _allergy_box(canv, ctx, left, right, top - 44)
    canv.setStrokeColor(colors.black)
    canv.setLineWidth(0.6)
    canv.line(left, h - MARGIN - header_height(f) + 3, right, h - MARGIN - header_height(f) + 3)
    # footer: who and which page; data as of; confidentiality
    base = MARGIN
    canv.line(left, base + FOOTER_H - 2, right, base + FOOTER_H - 2)
    canv.setFont(st.BOLD, 10)
    page = f"Page {x} of {y}"
    canv.drawRightString(right, base + FOOTER_H - 14, page)
    room = right - left - stringWidth(page, st.BOLD, 10) - 12
    if ctx and ctx.patient_line:
        who, size = _footer_identifiers(ctx.patient_line, room)
        canv.setFont(st.BOLD, size)
    else:
        who, size = _fit_or_cut(f.scope, st.FONT, 8.5, room)
        canv.setFont(st.FONT, size)
    canv.drawString(left, base + FOOTER_H - 14, who)
    canv.setFont(st.FONT, 8)
    canv.drawString(
        left,
        base + 12,
        f"{f.as_of_text} · {f.scope_in_line} · printed {local_text(f.generated, f.generated)}",
    )
    if (x, y) != (sheet, sheets):  # a patient's pages within the document: say both
        canv.drawRightString(right, base + 12, f"sheet {sheet} of {sheets}")
    canv.setFont(st.FONT, 7)
    canv.drawString(left, base + 2, CONFIDENTIAL)
    canv.restoreState()


def _identifiers(canv: Canvas, ctx: Context, left: float, right: float, y: float) -> None:
    """Name (left) and "DOB … · MRN …" (right), both bold, never over each other. The
    DOB and MRN are never cut: they shrink to fit half the line at most. The name shrinks
    to fit the rest; a name too long for one line at 7 pt takes two lines, and one too
    long for two is cut with "…" (the face sheet prints it whole)."""
    name, ids = _split_identifiers(ctx.patient_line)
    width = right - left
    ids_size = _fit_size(ids, st.BOLD, 12.5, width * 0.5)
    ids_w = stringWidth(ids, st.BOLD, ids_size)
    canv.setFont(st.BOLD, ids_size)
    canv.drawRightString(right, y, ids)
    room = width - ids_w - 12
    size = _name_size(name, room)
    if stringWidth(name, st.BOLD, size) <= room:
        canv.setFont(st.BOLD, size)
        canv.drawString(left, y, name)
        return
    lines = _wrap_chars(name, st.BOLD, NAME_MIN, room)
    if len(lines) > 2:
        lines = (lines[0], _cut(" ".join(lines[1:]), st.BOLD, NAME_MIN, room))
    canv.setFont(st.BOLD, NAME_MIN)
    canv.drawString(left, y + 4, lines[0])
    canv.drawString(left, y + 4 - NAME_MIN - 0.5, lines[1])


NAME_MIN = 7.0


def _split_identifiers(line: str) -> tuple[str, str]:
    """ "SMITH, John · DOB 1957-03-02 · MRN 100234" → the name and the rest (a name may
    hold " · " itself: the DOB starts the rest)."""
    name, sep, ids = line.rpartition(" · DOB ")
    return (name, f"DOB {ids}") if sep else line.partition(" · ")[::2]


@functools.lru_cache(maxsize=4096)
def _footer_identifiers(line: str, room: float) -> tuple[str, float]:
    """The footer's "name · DOB · MRN": the DOB and MRN whole, the name cut with "…" when
    the line cannot fit at 6.5 pt."""
    size = _fit_size(line, st.BOLD, 8.5, room)
    if stringWidth(line, st.BOLD, size) <= room:
        return line, size
    name, ids = _split_identifiers(line)
    rest = room - stringWidth(f" · {ids}", st.BOLD, size)
    return f"{_cut(name, st.BOLD, size, max(rest, room * 0.3))} · {ids}", size


def _fit_or_cut(text: str, font: str, size: float, room: float) -> tuple[str, float]:
    """`text` shrunk to fit `room` (to 6.5 pt at least), and cut with "…" if even that is
    too wide: a line never runs into its neighbour."""
    size = _fit_size(text, font, size, room)
    return _cut(text, font, size, room), size


@functools.lru_cache(maxsize=4096)
def _cut(text: str, font: str, size: float, room: float) -> str:
    if stringWidth(text, font, size) <= room:
        return text
    while text and stringWidth(f"{text}…", font, size) > room:
        text = text[:-1]
    return f"{text.rstrip()}…"


@functools.lru_cache(maxsize=4096)
def _wrap_chars(text: str, font: str, size: float, room: float) -> tuple[str, ...]:
    """Lines no wider than `room`: at spaces where there are, inside a word where one
    word is wider than the line."""
    lines: list[str] = []
    for line in _fit(text, font, size, room):
        while stringWidth(line, font, size) > room and len(line) > 1:
            n = len(line) - 1
            while n > 1 and stringWidth(line[:n], font, size) > room:
                n -= 1
            lines.append(line[:n])
            line = line[n:]
        lines.append(line)
    return tuple(lines)


def _code_mark(canv: Canvas, ctx: Context, right: float, y: float) -> float:
    """A limiting code status, right-aligned on the line at `y`: "⚠ DNR" white on black,
    then its words, in a black box (readable on a photocopy, not colour alone). Returns
    the width it took (0 when there is none)."""
    if not ctx.code_mark:
        return 0.0
    mark = f"\u26a0 {ctx.code_mark}"
    mark_w = stringWidth(mark, st.BOLD, 10.5) + 8
    words_w = stringWidth(ctx.code_words, st.BOLD, 9) + 8 if ctx.code_words else 0
    x = right - mark_w - words_w
    canv.setStrokeColor(colors.black)
    canv.setLineWidth(1.4)
    canv.setFillColor(colors.black)
    canv.rect(x, y - 3.5, mark_w, 14, stroke=1, fill=1)
    canv.rect(x, y - 3.5, mark_w + words_w, 14, stroke=1, fill=0)
    canv.setFillColor(colors.white)
    canv.setFont(st.BOLD, 10.5)
    canv.drawString(x + 4, y, mark)
    canv.setFillColor(colors.black)
    if ctx.code_words:
        canv.setFont(st.BOLD, 9)
        canv.drawString(x + mark_w + 4, y, ctx.code_words)
    return mark_w + words_w


@functools.lru_cache(maxsize=4096)
def _fit_size(text: str, font: str, size: float, room: float) -> float:
    while size > 6.5 and stringWidth(text, font, size) > room:
        size -= 0.5
    return size


@functools.lru_cache(maxsize=4096)
def _name_size(name: str, room: float) -> float:
    size = 15.0
    while size > NAME_MIN and stringWidth(name, st.BOLD, size) > room:
        size -= 0.5
    return size


def _allergy_box(canv: Canvas, ctx: Context, left: float, right: float, top: float) -> None:
    size = 9.5
    label = "ALLERGIES: "
    lw = stringWidth(label, st.BOLD, size)
    lines = list(_fit(ctx.allergies, st.BOLD, size, right - left - lw - 8))
    if len(lines) > MAX_ALLERGY_LINES:
        more = "… continued: full allergy list on the face sheet"
        lines = lines[:MAX_ALLERGY_LINES]
        kept = lines[-1][: max(0, len(lines[-1]) - len(more) - 2)].rsplit(" ", 1)[0]
        lines[-1] = f"{kept} {more}"
    box_h = 4 + 11 * max(1, len(lines))
    canv.setStrokeColor(st.RED if ctx.allergy_alert else colors.black)
    canv.setLineWidth(1.4 if ctx.allergy_alert else 0.6)
    canv.rect(left, top - box_h, right - left, box_h, stroke=1, fill=0)
    canv.setFillColor(st.RED if ctx.allergy_alert else colors.black)
    canv.setFont(st.BOLD, size)
    canv.drawString(left + 4, top - 11, label)
    for i, line in enumerate(lines):
        canv.drawString(left + 4 + lw, top - 11 - 11 * i, line)
    canv.setFillColor(colors.black)


def header_height(f: Furniture) -> float:
    return (COMPACT_H if f.compact else HEADER_H) + (BANNER_H + 4 if f.banner else 0)


class PacketDoc(BaseDocTemplate):
    """A Letter document (portrait or landscape) with room for the furniture."""

    def __init__(
        self,
        target: Any,
        furniture: Furniture,
        *,
        wide: bool = False,
        title: str = "Standby downtime packet",
    ) -> None:
        size = landscape(letter) if wide else letter
        super().__init__(
            target,
            pagesize=size,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + header_height(furniture),
            bottomMargin=MARGIN + FOOTER_H,
            title=title,
            author="Standby",
            creator="Standby",
            invariant=True,
        )
        frame = Frame(
            self.leftMargin,
            self.bottomMargin,
            self.width,
            self.height,
            id="body",
            leftPadding=0,
            rightPadding=0,
            topPadding=4,
            bottomPadding=0,
        )
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        self.furniture = furniture

    def render(self, story: list[Flowable]) -> None:
        maker = make_canvas(self.furniture)
        maker.top_y = self.bottomMargin + self.height - 4  # the frame's top padding
        self.build(story, canvasmaker=maker)
