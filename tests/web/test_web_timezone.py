"""The hospital's time zone (setting `timezone`): times are shown in it, labelled with its
name, and a dose ordered "at 09:00" is due at 09:00 on the hospital's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.accounts import users
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app
from support.web_site import PASSWORD, Clock, Site

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
    {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
     "medicationCodeableConcept": {"text": "Furosemide 20 mg tab"},
     "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-11-28T15:00:00Z",
     "dosageInstruction": [{"text": "20 mg PO daily",
                            "timing": {"repeat": {"timeOfDay": ["09:00:00"]}}}]},
]  # fmt: skip


def _site(tmp_path: Path, timezone: str) -> Site:
    db = tmp_path / f"{timezone.replace('/', '_')}.db"
    store = open_store(db=db)
    for r in RESOURCES:
        store.upsert(orjson.dumps(r))
    users.add_user(store, "doc", PASSWORD, role="physician", units=["*"])
    clock = Clock()
    clock.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 07:00 in New York
    settings = Settings(db=db, timezone=timezone)
    return Site(create_app(settings, store, clock=clock), store, clock, settings)


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, Site]]:
    out = {tz: _site(tmp_path, tz) for tz in ("UTC", "America/New_York")}
    yield out
    for s in out.values():
        s.store.close()


def _next_due(html: str) -> str:
    row = html.split('id="mar-table"', 1)[1].split("Furosemide", 1)[1].split("</tr>", 1)[0]
    return row.split("<strong>")[-1].split("</strong>")[0]


def test_a_dose_at_nine_is_due_at_nine_on_the_hospitals_clock(sites: dict[str, Site]) -> None:
    ny = sites["America/New_York"].login("doc").get("/patients/p1").text
    utc = sites["UTC"].login("doc").get("/patients/p1").text
    # 07:00 in New York: today's 09:00 dose is next; in a UTC hospital it is 12:00 and
    # today's 09:00 dose is overdue, so tomorrow's is next
    assert _next_due(ny) == "29 Nov 09:00"
    assert _next_due(utc) == "30 Nov 09:00"
    assert "OVERDUE" in utc.split('id="mar-table"', 1)[1] and "OVERDUE" not in ny


def test_times_are_shown_in_the_zone_and_labelled(sites: dict[str, Site]) -> None:
    ny = sites["America/New_York"].login("doc").get("/patients/p1").text
    assert "(times EST;" in ny and "due and overdue as of" in ny
    assert "07:00:00" in ny  # the page's clock: 12:00 UTC is 07:00 EST
    assert "2026-11-28 10:00 EST" in ny  # admitted 15:00 UTC
    utc = sites["UTC"].login("doc").get("/patients/p1").text
    assert "(times UTC;" in utc and "2026-11-28 15:00 UTC" in utc


def test_an_unknown_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Settings(timezone="Mars/Olympus")
