"""Every string reaches reportlab through `standby.reports.text` (which escapes it): no
other module of src/ makes a Paragraph, whose text reportlab reads as markup, except from
a literal or from a value it escapes in the same call (`monitor/after_action.py`, which
may not import `reports/`)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "standby"


def _escaped(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant):
        return True
    return (
        isinstance(first, ast.Call)
        and isinstance(first.func, ast.Name)
        and first.func.id in ("escape", "esc")
    )


def test_only_reports_text_makes_paragraphs() -> None:
    makers = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "reports" / "text.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                if name in ("Paragraph", "XPreformatted", "Preformatted") and not _escaped(node):
                    makers.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert makers == [], f"use standby.reports.text.para or markup: {makers}"
