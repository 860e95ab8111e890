"""The web MAR and the paper MAR of a New York hospital give the same dose times, in the
hospital's zone, whatever offset the EHR wrote on the order."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pypdf import PdfReader

from standby.accounts import users
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app
from support.web_site import PASSWORD, Clock, Site


def _order(
    rid: str, name: str, timing: dict[str, Any], authored: str = "2026-11-30T10:00:00Z"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": name}, "subject": {"reference": "Patient/p1"},
        "authoredOn": authored,  # by default 05:00 EST, written in UTC
        "dosageInstruction": [{"timing": timing}],
    }  # fmt: skip


RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Location", "id": "u1", "name": "4 West", "alias": ["4W"],
     "physicalType": {"coding": [{"code": "wi"}]}},
    {"resourceType": "Location", "id": "b1", "name": "401-A",
     "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/u1"}},
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "Zonetest", "given": ["Ada"]}],
     "identifier": [{"system": "urn:mrn", "value": "MRN-TZ-1"}], "birthDate": "1950-01-01"},
    {"resourceType": "Encounter", "id": "e1", "status": "in-progress", "class": {"code": "IMP"},
     "subject": {"reference": "Patient/p1"},
     "location": [{"location": {"reference": "Location/b1"}, "status": "active"}],
     "period": {"start": "2026-11-28T15:00:00Z"}},
    _order("m1", "Furosemide 20 mg tab", {"repeat": {"timeOfDay": ["09:00:00"]}}),
    _order("m2", "Metoprolol 25 mg tab", {"code": {"coding": [{"code": "BID"}]}}),
]  # fmt: skip


def _site(path: Path, resources: list[dict[str, Any]], now: datetime) -> Site:
    store = open_store(db=path)
    for r in resources:
        store.upsert(orjson.dumps(r))
    users.add_user(store, "doc", PASSWORD, role="physician", units=["*"])
    clock = Clock()
    clock.now = now
    settings = Settings(db=path, timezone="America/New_York")
    return Site(create_app(settings, store, clock=clock), store, clock, settings)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = _site(tmp_path / "ny.db", RESOURCES, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    yield s  # 07:00 EST
    s.store.close()


def _given(aid: str, at: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration", "id": aid, "status": "completed",
        "medicationCodeableConcept": {"text": "Oxycodone 5 mg tab"},
        "subject": {"reference": "Patient/p1"}, "request": {"reference": "MedicationRequest/m3"},
        "effectiveDateTime": at, "dosage": {"dose": {"value": 5, "unit": "mg"}},
    }  # fmt: skip


def _pages(site: Site) -> tuple[str, str]:
    client = site.login("doc")
    html = client.get("/patients/p1").text
    pdf = client.get("/patients/p1/print.pdf").content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return html, " ".join(text.split())  # the paper's words, whatever the line breaks


def _web_next_due(html: str, drug: str) -> str:
    row = html.split('id="mar-table"', 1)[1].split(drug, 1)[1].split("</tr>", 1)[0]
    return row.split("<strong>")[-1].split("</strong>")[0]


def _paper_mar_rows(pdf: bytes) -> list[str]:
    """The MAR grid's lines, from its first page to the end of the grid."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    grid = text.split("MAR — 24 hours from", 1)[1]
    return [line.strip() for line in grid.splitlines() if line.strip()]


def test_web_and_paper_mar_show_the_same_times_in_the_hospitals_zone(site: Site) -> None:
    client = site.login("doc")
    html = client.get("/patients/p1").text
    assert _web_next_due(html, "Furosemide") == "30 Nov 09:00"
    assert _web_next_due(html, "Metoprolol") == "30 Nov 09:00"
    pdf = client.get("/patients/p1/print.pdf")
    assert pdf.status_code == 200
    rows = _paper_mar_rows(pdf.content)
    day = rows.index("Monday 30 November 2026")
    due = [r for r in rows[day:] if r[:2].isdigit() and r[2:3] == ":"]
    times = [r[:5] for r in due]
    # both 09:00 doses first, then the 21:00 BID dose; nothing at 04:00 (09:00Z read in EST)
    assert times[:3] == ["09:00", "09:00", "21:00"], rows
    assert "04:00" not in times and "16:00" not in times


def test_a_time_of_the_repeated_hour_says_its_zone_on_screen_and_paper(tmp_path: Path) -> None:
    # 1 Nov 2026, New York: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) are an hour apart
    q1h = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "h"}}
    given = [_given("a1", "2026-11-01T05:30:00Z"), _given("a2", "2026-11-01T06:30:00Z")]
    resources = [
        *RESOURCES[:4],
        _order("m3", "Oxycodone 5 mg tab", q1h, "2026-10-30T12:00:00Z"),
        *given,
    ]
    now = datetime(2026, 11, 1, 6, 40, tzinfo=UTC)  # 01:40 EST
    site = _site(tmp_path / "fallback.db", resources, now)
    html, paper = _pages(site)
    site.store.close()
    for text in (html, paper):
        assert "01:30 EDT" in text and "01:30 EST" in text
        assert "times EDT/EST, America/New_York" in text  # not "(times EST" over EDT times
    assert "(times EST" not in html and "(times EST" not in paper
    # 01:30 EDT and 01:30 EST were two doses (both given); the next is one real hour
    # after the last dose given: 02:30 EST
    assert _web_next_due(html, "Oxycodone") == "01 Nov 02:30"


def test_a_clock_time_that_does_not_exist_is_shown_where_it_falls(tmp_path: Path) -> None:
    # 8 Mar 2026, New York: 02:00 EST becomes 03:00 EDT; a daily 02:30 dose is at 03:30 EDT
    daily = {"repeat": {"timeOfDay": ["02:30:00"]}}
    resources = [
        *RESOURCES[:4],
        _order("m4", "Levothyroxine 50 mcg tab", daily, "2026-03-01T12:00:00Z"),
    ]
    now = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    site = _site(tmp_path / "forward.db", resources, now)
    html, paper = _pages(site)
    site.store.close()
    assert _web_next_due(html, "Levothyroxine") == "08 Mar 03:30"
    assert "for 02:30: no 02:30 tonight" in html
    assert "03:30 for 02:30: no 02:30 tonight" in paper
    assert "08 Mar 02:30" not in html
    # 24 real hours end at 01:00 EDT: both ends say their zone
    assert "24 hours from Sun 08 Mar 00:00 EST to Mon 09 Mar 01:00 EDT" in paper


def test_the_mar_legend_says_how_times_behave_when_the_clocks_change(site: Site) -> None:
    html, paper = _pages(site)
    for text in (html, paper):
        flat = " ".join(text.split())
        assert "q8h stays 8 hours apart" in flat
        assert "Doses at clock times (09:00, BID, daily) stay at that clock time" in flat


def test_times_standby_derived_are_marked_on_screen_and_paper(site: Site) -> None:
    html, paper = _pages(site)
    row = html.split('id="mar-table"', 1)[1].split("Metoprolol", 1)[1].split("</tr>", 1)[0]
    assert "times derived from BID — check the order" in row  # 09:00/21:00: standard times
    row = html.split('id="mar-table"', 1)[1].split("Furosemide", 1)[1].split("</tr>", 1)[0]
    assert "derived" not in row  # "at 09:00" is what the order states
    grid = paper.split("MAR — 24 hours from", 1)[1]
    assert "Metoprolol 25 mg tab see order see order BID times derived: check the order" in grid
    assert "Furosemide 20 mg tab see order see order at 09:00 none" in grid
