"""Fonts, sizes and colours of the downtime packets.

Legibility first (paper MARs that confused nurses caused near-miss overdoses in the
Ascension outage): drug names in 12 pt bold, body text no smaller than 9 pt, allergies in
a red box, black on white for photocopies and faxes. DejaVu Sans (Debian's fonts-dejavu)
covers accented and non-Latin names; the Vera font bundled with reportlab is the fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

import reportlab
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "Standby"
BOLD = "Standby-Bold"
_CANDIDATES = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        os.path.join(os.path.dirname(reportlab.__file__), "fonts", "Vera.ttf"),
        os.path.join(os.path.dirname(reportlab.__file__), "fonts", "VeraBd.ttf"),
    ),
]
_registered = False


def register_fonts() -> None:
    global _registered
    if _registered:
        return
    for regular, bold in _CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            pdfmetrics.registerFont(TTFont(FONT, regular))
            pdfmetrics.registerFont(TTFont(BOLD, bold))
            pdfmetrics.registerFontFamily(
                FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD
            )
            _registered = True
            return
    raise RuntimeError("no TrueType font found for the packets (install fonts-dejavu-core)")


RED = colors.HexColor("#B00020")
AMBER = colors.HexColor("#8A5A00")
GREY = colors.HexColor("#555555")
LIGHT = colors.HexColor("#EEEEEE")
HEAD_BG = colors.HexColor("#DDDDDD")
OVERDUE_BG = colors.HexColor("#FFE0E0")


def style(
    name: str,
    size: float = 9.5,
    *,
    bold: bool = False,
    leading: float | None = None,
    color: colors.Color = colors.black,
    space_before: float = 0,
    space_after: float = 0,
) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=BOLD if bold else FONT,
        fontSize=size,
        leading=leading or size * 1.22,
        textColor=color,
        spaceBefore=space_before,
        spaceAfter=space_after,
    )


BODY = style("body", 9.5)
SMALL = style("small", 8.5)
CELL = style("cell", 9)
CELL_BOLD = style("cell-bold", 9, bold=True)
CELL_ALERT = style("cell-alert", 9, bold=True, color=RED)
MAR_CELL = style("mar-cell", 9, leading=14)
DRUG = style("drug", 12, bold=True, leading=14)
DOSE = style("dose", 11, bold=True, leading=13)
DUE = style("due", 11, bold=True, leading=13)
H1 = style("h1", 15, bold=True, space_before=2, space_after=4)
H2 = style("h2", 12, bold=True, space_before=8, space_after=3)
EMPTY = style("empty", 9.5, color=GREY)
WARN = style("warn", 10, bold=True, color=RED)
NOTE = style("note", 9.5, leading=12)
# code status: an inverted mark (white on black) with a symbol, and its words under it;
# a word is never split or hyphenated (it wraps at spaces only)
CODE_MARK = style("code-mark", 11, bold=True, color=colors.white, leading=13)
CODE_WORDS = style("code-words", 8.5, bold=True, leading=10)
CODE_PLAIN = style("code-plain", 9, bold=True)
for _s in (CODE_MARK, CODE_WORDS, CODE_PLAIN):
    _s.splitLongWords = 0
    _s.hyphenationLang = ""
# drug names break between words and after a hyphen (their size is fitted to the column:
# standby.reports.medication_record.drug_size), not inside a word
for _s in (DRUG, MAR_CELL):
    _s.embeddedHyphenation = 1


register_fonts()  # paragraphs are laid out as they are built: the fonts must exist first
