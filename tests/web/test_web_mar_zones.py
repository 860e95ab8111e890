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


def _order(rid: str, name: str, timing: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": name}, "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-30T10:00:00Z",  # 05:00 EST, written in UTC
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


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    db = tmp_path / "ny.db"
    store = open_store(db=db)
    for r in RESOURCES:
        store.upsert(orjson.dumps(r))
    users.add_user(store, "doc", PASSWORD, role="physician", units=["*"])
    clock = Clock()
    clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 07:00 EST
    settings = Settings(db=db, timezone="America/New_York")
    yield Site(create_app(settings, store, clock=clock), store, clock, settings)
    store.close()


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
