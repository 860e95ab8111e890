"""The scheduler's triage pages over the synthetic hospital: the list, an override (stored
and audited), the OR desk's entries."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.monitor import probes, schema
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.schedule import repository as repo
from standby.schedule.items import items_in_window
from support.web_site import Hospital, csrf_of

IMAGING_CODES = {"232717009", "609588000", "52734007", "392021009"}


def _audit(h: Hospital, **kw: Any) -> list[Any]:
    return repository.search_audit(h.store, AuditQuery(**kw))


def _probe(h: Hospital, name: str, outcome: Health) -> None:
    schema.ensure(h.store)
    with h.store.transaction() as tx:
        probes.record(
            tx, [ProbeResult(name, "http", h.clock.now, outcome, 5.0, "test", False, False)]
        )


def _elective_imaging_case(h: Hospital) -> Any:
    items = items_in_window(h.store, h.clock.now, h.clock.now + timedelta(hours=72))
    return next(
        i
        for i in items
        if i.kind == "surgery" and i.priority == "elective" and i.codes & IMAGING_CODES
    )


def test_triage_is_for_schedulers(hospital: Hospital) -> None:
    assert hospital.login("nurse").get("/schedules/triage").status_code == 403
    assert hospital.login("physician").get("/schedules/or-desk").status_code == 403
    r = hospital.login("scheduler").get("/schedules/triage")
    assert r.status_code == 200
    assert "Data as of" in r.text


def test_imaging_down_postpones_elective_imaging_cases_with_the_reason(hospital: Hospital) -> None:
    case = _elective_imaging_case(hospital)
    _probe(hospital, "pacs", Health.FAILED)
    c = hospital.login("scheduler")
    r = c.get("/schedules/triage?show=postpone")
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert case.patient.name in text and case.patient.mrn in text and case.patient.dob in text
    assert "Imaging (PACS) down (monitor: pacs failing): postpone for elective" in text
    detail = html.unescape(c.get(f"/schedules/triage/{case.id}").text)
    assert "POSTPONE" in detail
    shown = {e.patient_id for e in _audit(hospital, action="schedule")}
    assert case.patient.id in shown


def test_override_is_stored_audited_and_shown(hospital: Hospital) -> None:
    case = _elective_imaging_case(hospital)
    _probe(hospital, "pacs", Health.FAILED)
    c = hospital.login("scheduler")
    page = c.get(f"/schedules/triage/{case.id}")
    token = csrf_of(page.text)
    r = c.post(
        f"/schedules/triage/{case.id}",
        data={"csrf_token": token, "decision": "proceed on paper", "reason": ""},
    )
    assert r.status_code == 400 and "reason" in r.text
    assert repo.overrides(hospital.store) == {}
    r = c.post(
        f"/schedules/triage/{case.id}",
        data={"csrf_token": token, "decision": "proceed on paper", "reason": "films on CD"},
    )
    assert r.status_code == 303
    ov = repo.overrides(hospital.store)[case.id]
    assert (ov.decision, ov.reason, ov.by) == ("proceed on paper", "films on CD", "scheduler")
    [line] = _audit(hospital, action="schedule-decision")
    assert line.patient_id == case.patient.id
    assert "rules postpone → proceed on paper: films on CD" in line.detail
    text = html.unescape(c.get(f"/schedules/triage/{case.id}").text)
    assert "override by scheduler" in text and "films on CD" in text
    listing = html.unescape(c.get("/schedules/triage?show=proceed on paper").text)
    assert case.patient.mrn in listing and "rules said postpone" in listing


def test_or_desk_closes_a_room_and_triage_follows(hospital: Hospital) -> None:
    items = items_in_window(
        hospital.store, hospital.clock.now, hospital.clock.now + timedelta(hours=72)
    )
    case = next(i for i in items if i.kind == "surgery" and i.priority == "elective")
    c = hospital.login("scheduler")
    page = c.get("/schedules/or-desk")
    assert page.status_code == 200 and case.place in html.unescape(page.text)
    zone = hospital.app.state.web.zone
    start = (case.start - timedelta(minutes=5)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    end = (case.end).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    bad = c.post(
        "/schedules/or-desk",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "room",
            "room": case.place_id,
            "start": end,
            "end": start,
        },
    )
    assert bad.status_code == 400 and "end: must be after the start" in bad.text
    r = c.post(
        "/schedules/or-desk",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "room",
            "room": case.place_id,
            "start": start,
            "end": end,
            "note": "no scrub nurse",
        },
    )
    assert r.status_code == 303
    detail = html.unescape(c.get(f"/schedules/triage/{case.id}").text)
    assert f"{case.place} closed per OR desk (no scrub nurse): postpone for elective" in detail
    assert any("OR desk" in e.detail for e in _audit(hospital, action="schedule-decision"))


def test_broken_rules_file_says_which_line(hospital: Hospital, tmp_path: Any) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[systems.imaging]\nprobes = "pacs"\n')
    hospital.app.state.web.settings = hospital.app.state.web.settings.model_copy(
        update={"schedule_rules": bad}
    )
    r = hospital.login("scheduler").get("/schedules/triage")
    assert r.status_code == 500
    assert "rules.toml, line 2: system &#39;imaging&#39;: probes must be a list" in r.text


def test_schedule_pages_speak_the_wards_words(hospital: Hospital) -> None:
    from support.clinician_words import fhir_words_in

    case = _elective_imaging_case(hospital)
    _probe(hospital, "pacs", Health.FAILED)
    c = hospital.login("scheduler")
    for path in (
        "/schedules/triage",
        f"/schedules/triage/{case.id}",
        "/schedules/or-desk",
        "/schedules/calls",
        "/schedules/rebook",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        text = re.sub(r"<[^>]+>", " ", r.text)
        assert fhir_words_in(html.unescape(text)) == [], path
