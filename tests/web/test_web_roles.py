"""docs/roles.md states the role table of standby.accounts.roles exactly."""

from __future__ import annotations

from pathlib import Path

from standby.accounts.roles import ROLES, Permission

DOCS = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def test_docs_table_matches_the_code() -> None:
    lines = [line for line in DOCS.read_text().splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    roles = header[2:]
    assert roles == list(ROLES)
    seen = set()
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        perm = Permission(cells[0].strip("`"))
        seen.add(perm)
        for role, cell in zip(roles, cells[2:], strict=True):
            assert (cell == "yes") == (perm in ROLES[role]), f"{perm} / {role}"
    assert seen == set(Permission)
