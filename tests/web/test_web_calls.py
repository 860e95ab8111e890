"""Call lists over the synthetic hospital: page, outcome (stored, audited), PDF, CSV."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta
from typing import Any

from pypdf import PdfReader

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.monitor import probes, schema
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.schedule import repository as repo
from standby.schedule.items import items_in_window
from support.web_site import Hospital, csrf_of

IMAGING_CODES = {"232717009", "609588000", "52734007", "392021009"}


def _pacs_down(h: Hospital) -> Any:
    schema.ensure(h.store)
    with h.store.transaction() as tx:
        probes.record(
            tx, [ProbeResult("pacs", "http", h.clock.now, Health.FAILED, 5.0, "t", False, False)]
        )
    items = items_in_window(h.store, h.clock.now, h.clock.now + timedelta(hours=72))
    return [
        i
        for i in items
        if i.kind == "surgery" and i.priority == "elective" and i.codes & IMAGING_CODES
    ]


def test_call_list_shows_identifiers_phone_and_script(hospital: Hospital) -> None:
    moved = _pacs_down(hospital)
    assert moved
    r = hospital.login("scheduler").get("/schedules/calls")
    assert r.status_code == 200
    text = html.unescape(r.text)
    for i in moved:
        assert i.patient.name in text and i.patient.mrn in text and i.patient.dob in text
        assert f"Surgeon: {i.provider.name}" in text
        if i.patient.phones:
            assert i.patient.phones[0] in text
    assert "Voicemail:" in text
    assert "Data as of" in text
    assert hospital.login("nurse").get("/schedules/calls").status_code == 403


def test_call_outcome_is_stored_and_audited(hospital: Hospital) -> None:
    case = _pacs_down(hospital)[0]
    c = hospital.login("scheduler")
    token = csrf_of(c.get("/schedules/calls").text)
    bad = c.post(
        f"/schedules/calls/{case.id}",
        data={"csrf_token": token, "outcome": "unavailable-days", "unavailable_days": "next tue"},
    )
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    assert "not a date" in html.unescape(c.get(bad.headers["location"]).text)
    assert repo.calls(hospital.store) == {}
    day = (case.start + timedelta(days=2)).date().isoformat()
    r = c.post(
        f"/schedules/calls/{case.id}",
        data={"csrf_token": token, "outcome": "unavailable-days", "unavailable_days": day},
    )
    assert r.status_code == 303
    [call] = repo.calls(hospital.store)[case.id]
    assert call.outcome == "unavailable-days" and call.by == "scheduler"
    assert [d.isoformat() for d in call.unavailable_days] == [day]
    [line] = repository.search_audit(hospital.store, AuditQuery(action="schedule-call"))
    assert line.patient_id == case.patient.id and day in line.detail
    assert f"cannot come on {day}" in html.unescape(c.get("/schedules/calls").text)


def test_call_lists_print_as_a_pdf_with_two_identifiers(hospital: Hospital) -> None:
    moved = _pacs_down(hospital)
    r = hospital.login("scheduler").get("/schedules/calls.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    flat = " ".join(text.split())
    for i in moved:
        assert i.patient.mrn in flat
    assert "Data as of" in flat
    printed = {
        e.patient_id for e in repository.search_audit(hospital.store, AuditQuery(action="print"))
    }
    assert {i.patient.id for i in moved} <= printed


def test_call_lists_csv_neutralises_formulas(hospital: Hospital) -> None:
    case = _pacs_down(hospital)[0]
    sr = hospital.store.read("Patient", case.patient.id)
    body = dict(sr.json())
    body["name"] = [{"use": "official", "family": '=HYPERLINK("x")', "given": ["Ann"]}]
    hospital.store.update(body)
    r = hospital.login("scheduler").get("/schedules/calls.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    names = [row["patient_name"] for row in rows]
    assert any(n.startswith("'=HYPERLINK") for n in names)
    assert not any(n.startswith("=") for n in names)
    assert {row["mrn"] for row in rows} >= {case.patient.mrn}
