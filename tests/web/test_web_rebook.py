"""Rebooking over the synthetic hospital: a proposal per room, accepting some (checked
again, stored, audited), a tampered placement refused."""

from __future__ import annotations

import html
import re

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.monitor import probes, schema
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.schedule import repository as repo
from support.web_site import Hospital, csrf_of


def _pacs_down(h: Hospital) -> None:
    schema.ensure(h.store)
    with h.store.transaction() as tx:
        probes.record(
            tx,
            [  # the lab too (every surgery needs it): enough cases to move whatever the
                # time of day the hospital was generated at (imaging alone left one at 19:00)
                ProbeResult(probe, "http", h.clock.now, Health.FAILED, 5.0, "t", False, False)
                for probe in ("pacs", "lab")
            ],
        )


def _propose(h: Hospital) -> tuple[object, str]:
    c = h.login("scheduler")
    token = csrf_of(c.get("/schedules/rebook").text)
    r = c.post("/schedules/rebook", data={"csrf_token": token, "action": "propose", "seconds": "2"})
    assert r.status_code == 200, r.text
    return c, r.text


def test_proposal_places_postponed_cases_and_accepting_stores_them(hospital: Hospital) -> None:
    _pacs_down(hospital)
    c, page = _propose(hospital)
    ticks = re.findall(r'name="take:([^"]+)" value="([^"]+)"', page)
    assert ticks, "the proposal should place the postponed cases"
    assert "MRN" in page and "DOB" in page and "Data as of" in page
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    first, value = ticks[0]
    r = c.post(  # type: ignore[attr-defined]
        "/schedules/rebook",
        data={
            "csrf_token": csrf_of(page),
            "action": "accept",
            "proposal_id": proposal_id,
            f"take:{first}": value,
        },
    )
    assert r.status_code == 200, r.text
    assert "Accepted and kept: 1 new time" in html.unescape(r.text)
    [kept] = repo.accepted(hospital.store)
    assert kept.appointment_id == first and kept.proposal == proposal_id
    lines = repository.search_audit(hospital.store, AuditQuery(action="schedule-decision"))
    assert any(first in e.detail and "accepted new time" in e.detail for e in lines)


def test_a_placement_that_double_books_is_refused(hospital: Hospital) -> None:
    _pacs_down(hospital)
    c, page = _propose(hospital)
    ticks = re.findall(r'name="take:([^"]+)" value="([^"]+)"', page)
    assert len(ticks) >= 2
    (a, va), (b, _) = ticks[0], ticks[1]
    r = c.post(  # type: ignore[attr-defined]
        "/schedules/rebook",
        data={"csrf_token": csrf_of(page), "action": "accept", f"take:{a}": va, f"take:{b}": va},
    )
    assert r.status_code == 409
    assert "Not stored" in html.unescape(r.text)
    assert repo.accepted(hospital.store) == []


def test_rebooking_is_for_schedulers(hospital: Hospital) -> None:
    assert hospital.login("physician").get("/schedules/rebook").status_code == 403


def test_accepted_new_times_show_the_patient_and_the_room_by_name(hospital: Hospital) -> None:
    _pacs_down(hospital)
    c, page = _propose(hospital)
    first, value = re.findall(r'name="take:([^"]+)" value="([^"]+)"', page)[0]
    r = c.post(  # type: ignore[attr-defined]
        "/schedules/rebook",
        data={"csrf_token": csrf_of(page), "action": "accept", f"take:{first}": value},
    )
    [kept] = repo.accepted(hospital.store)
    text = html.unescape(c.get("/schedules/rebook").text)  # type: ignore[attr-defined]
    loc = hospital.store.read("Location", kept.room_id.partition("#")[0]).json()["name"]
    patient = hospital.store.read("Patient", kept.patient_id).json()
    assert r.status_code == 200 and loc in text and kept.room_id not in text
    assert patient["birthDate"] in text
