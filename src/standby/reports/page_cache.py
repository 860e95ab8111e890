"""Pages drawn once, kept between generations: a patient whose pages would come out the
same as last time has them copied from the previous generation instead of drawn again.

A patient's pages in `mar.pdf`, `packets.pdf` and `forms.pdf` are a function of their
`PatientSummary` (the read model decides every word; the renderer decides nothing about
content), of the document they are in, of the page frame (banner or not) and of this
package's code. `key` hashes all of these: the whole summary — every resource and journal
entry as read, and the clock (`now`, the MAR's window, what is due or overdue) — so a
page whose inputs changed in any way is never reused. What every page
says about the generation (data as of, printed at, page x of y) is furniture, drawn apart
when the document is saved (`standby.reports.pages.PacketCanvas`), never cached.

The catch is the font: reportlab numbers the glyphs of a TrueType subset per document, in
the order characters are first drawn (`standby.reports.reuse`). Every unit's numbering is
seeded with one fixed character set in one fixed order (`SEED`: printable ASCII, Latin-1
and the typographic marks the packets print), so those characters have the same codes in
every document of every generation. A page that draws any other character (a name in
another script), any resource other than the two fonts and Helvetica, or an image, is not
kept: it is drawn each time.

The kept pages of a unit live in its folder (`<unit>/drawn-pages.z`,
zlib-compressed JSON, 0600 like the packets), holding exactly the pages of the unit's last
generation: it never grows beyond one generation. A file that cannot be read, or was
written by other code (`layout_version`), is ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import pickle
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import reportlab
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics

from standby.reports import styles as st
from standby.reports.pages import Context

FILE = "drawn-pages.z"

# Every character whose glyph code is fixed: printable ASCII (codes 32-126 whatever the
# order), Latin-1, then the marks the packets print themselves, in this order for good.
SEED = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "".join(chr(c) for c in range(0xA1, 0x100))
    + "–—‘’‚“”„•…‰‹›€™−≤≥±×÷°µ·→←↑↓⚠✓✗"
    + "⁰⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉"  # units of measure (10⁹/L, mmol/L, SpO₂)
)
_SEED_SET = frozenset(SEED) | {"\xa0"}  # a no-break space is drawn as a space
_FONT_RESOURCE = re.compile(r"/(F\d+)(?:\+\d+)?\s")
_XOBJECT = re.compile(r"/(\S+) Do\b")
_FONTS_OK = frozenset({"F1", "F2", "F3"})  # Helvetica (every canvas names it), then ours


class Uncacheable(Exception):
    """A page state with no written form: the patient's pages are drawn each time."""


def only_seed(text: str | bytes) -> bool:
    """Every character of `text` has a fixed glyph code."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _SEED_SET.issuperset(text)


@functools.cache
def layout_version() -> str:
    """What the drawing itself depends on besides its inputs: this package's code, the
    reportlab release, the fonts (DejaVu, or Vera where DejaVu is missing) and `SEED`."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(reportlab.Version.encode())
    st.register_fonts()
    for name in (st.FONT, st.BOLD):
        font: Any = pdfmetrics.getFont(name)
        h.update(f"{name}:{font.face.filename}:{len(font.face._ttf_data)}".encode())
    h.update(SEED.encode())
    return h.hexdigest()[:20]


def fingerprint(summary: Any) -> str | None:
    """A hash of everything in a patient's summary; None: it cannot be told (drawn).

    The summary is pickled: it holds dataclasses, strings, numbers, dates, enums, lists
    and dicts (no sets), which pickle to the same bytes in every process, and two equal
    pickles are two equal summaries. A difference in how the bytes come out (shared
    objects, an order) can only make a page drawn again, never reuse a page whose
    summary changed. Pickling is ~8 times cheaper than walking the summary into JSON."""
    try:
        data = pickle.dumps(summary, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.sha256(data).hexdigest()


def key(part: str, frame: Mapping[str, Any], summary_fingerprint: str) -> str:
    """The key of one patient's pages in one document: `part` ("mar", "packet", "forms"),
    the frame (banner, compact, unit, charting cutoff), the code, the summary."""
    text = json.dumps(
        [layout_version(), part, {k: str(v) for k, v in sorted(frame.items())}],
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{text}\0{summary_fingerprint}".encode()).hexdigest()


def clean(code: list[str]) -> list[str] | None:
    """The forms (`forms.BlankGrid`) a page body places, if it means the same in any seeded
    document: no font but Helvetica and the two of ours, no image, no form but the blank
    forms' grids (which a copied page defines first); None when it does not."""
    grids = _grids()
    text = "\n".join(code) + "\n"
    if text.startswith("BI ") or "\nBI " in text:
        return None
    if not _FONTS_OK.issuperset(_FONT_RESOURCE.findall(text)):
        return None
    used: list[str] = []
    for name in _XOBJECT.findall(text):
        grid = name.removeprefix("FormXob.")
        if grid not in grids:
            return None
        if grid not in used:
            used.append(grid)
    return used


@functools.cache
def _grids() -> frozenset[str]:
    from standby.reports.forms import grids

    return frozenset(grids())


# ---- on disk ------------------------------------------------------------------------------
def _color(c: Any) -> Any:
    if isinstance(c, colors.CMYKColor):
        raise Uncacheable("CMYK colour")
    if isinstance(c, colors.Color):
        return ["rgb", c.red, c.green, c.blue, c.alpha]
    if isinstance(c, (tuple, list)):
        return ["tuple", list(c)]
    if c is None or isinstance(c, (str, int, float)):
        return ["plain", c]
    raise Uncacheable(type(c).__qualname__)


def _uncolor(v: Any) -> Any:
    kind, *rest = v
    if kind == "rgb":
        return colors.Color(*rest)
    if kind == "tuple":
        return tuple(rest[0])
    return rest[0]


def dump_page(page: Any) -> dict[str, Any]:
    """A `reuse.DrawnPage` as JSON (raises Uncacheable)."""
    state = {
        k: (_color(v) if k.endswith("ColorObj") else ["plain", v]) for k, v in page.state.items()
    }
    return {
        "code": page.code,
        "state": state,
        "ctx": dataclasses.asdict(page.ctx) if page.ctx else None,
        "end": dataclasses.asdict(page.end_ctx) if page.end_ctx else None,
        "grids": page.grids,
    }


def load_page(raw: Mapping[str, Any]) -> Any:
    from standby.reports.reuse import DrawnPage

    return DrawnPage(
        list(raw["code"]),
        {k: _uncolor(v) for k, v in raw["state"].items()},
        Context(**raw["ctx"]) if raw.get("ctx") else None,
        Context(**raw["end"]) if raw.get("end") else None,
        [str(g) for g in raw.get("grids") or []],
    )


def read(folder: Path) -> dict[str, list[Any]]:
    """The pages a unit's last generation kept (empty when none can be read)."""
    try:
        raw = json.loads(zlib.decompress((folder / FILE).read_bytes()))
        if raw.get("version") != layout_version():
            return {}
        return {k: [load_page(p) for p in pages] for k, pages in raw["pages"].items()}
    except (OSError, ValueError, KeyError, TypeError, zlib.error):
        return {}


def encode(pages: Mapping[str, list[Any]]) -> bytes:
    """What `read` reads: every patient's pages that can be written down."""
    out: dict[str, list[dict[str, Any]]] = {}
    for k, drawn in pages.items():
        try:
            out[k] = [dump_page(p) for p in drawn]
        except Uncacheable:
            continue
    text = json.dumps({"version": layout_version(), "pages": out}, separators=(",", ":"))
    return zlib.compress(text.encode(), 1)
