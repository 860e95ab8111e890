"""The one way text reaches reportlab. A reportlab Paragraph reads its text as markup
(`<b>`, `<font>`, `<img src=...>` — which would embed any file the server can read), so
every string that comes from the EHR, a setting or a person goes through `esc` or `para`;
`markup` takes only strings this package built, with every value inside them escaped.
tests/project/test_reportlab_text.py checks that no other module makes a Paragraph, and
tests/reports/test_reports_hostile_text.py plants markup in every field a PDF prints."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Paragraph


def esc(text: object) -> str:
    """`text` as paragraph text: `<`, `>` and `&` escaped, line breaks kept."""
    return escape(str(text)).replace("\n", "<br/>")


def para(text: object, style: Any) -> Paragraph:
    """A paragraph of plain text (any string: it is escaped here)."""
    return Paragraph(esc(text), style)


def markup(text: str, style: Any) -> Paragraph:
    """A paragraph of this package's own mini-markup (`<b>`, `<br/>`, `<font>`) around
    values already passed through `esc`."""
    return Paragraph(text, style)
