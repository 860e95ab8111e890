"""The scheduler's whole journey over the synthetic hospital and the simulated EHR (real
HTTP): downtime declared with imaging down → postponed cases on the triage list and the
call list → proposal → accept → "Send accepted to the EHR" refused while the downtime
lasts → the incident commander ends it → sent: each Appointment updated at the EHR once
(sending again writes nothing), one changed at the EHR meanwhile is a conflict in the
review queue, not overwritten."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any

import pytest

from standby.clock import parse_instant
from standby.monitor import downtime, probes, schema
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.recovery import appointments, state
from standby.recovery.state import Status
from standby.schedule import repository as repo
from standby.sim.server import ServerHandle
from standby.store import Store
from support import rebook_ehr
from support.web_site import Hospital, csrf_of

hospital_and_ehr = rebook_ehr.hospital_and_ehr


def _imaging_down(h: Hospital) -> None:
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


def _words(page: str) -> str:
    return html.unescape(re.sub(r"</?b>", "", page))


def _history(ehr: Store, appointment_id: str) -> int:
    return len(ehr.history("Appointment", appointment_id))


def _at_ehr(ehr: Store, appointment_id: str) -> dict[str, Any]:
    sr = ehr.read("Appointment", appointment_id)
    assert sr is not None
    return sr.json()


@pytest.mark.slow
def test_downtime_to_appointments_updated_at_the_ehr_once(
    hospital_and_ehr: tuple[Hospital, Store, ServerHandle],
) -> None:
    h, ehr, _ = hospital_and_ehr
    cfg = MonitorConfig()
    downtime.declare(h.store, cfg, "ic", h.clock.now, reason="EHR and PACS down")
    _imaging_down(h)
    c = h.login("scheduler")

    # the postponed list and the call list
    triage = html.unescape(c.get("/schedules/triage?show=moved").text)
    assert "postpone" in triage.lower() and "Imaging" in triage
    calls = html.unescape(c.get("/schedules/calls").text)
    assert "MRN" in calls and "DOB" in calls

    # proposal, accept all
    page = c.get("/schedules/rebook").text
    r = c.post(
        "/schedules/rebook",
        data={"csrf_token": csrf_of(page), "action": "propose", "seconds": "2"},
    )
    assert r.status_code == 200, r.text
    ticks = re.findall(r'name="take:([^"]+)" value="([^"]+)"', r.text)
    assert len(ticks) >= 2, "imaging down should postpone at least two cases"
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(r.text), "action": "accept", "proposal_id": proposal_id}
    form.update({f"take:{cid}": v for cid, v in ticks})
    r = c.post("/schedules/rebook", data=form)
    assert r.status_code == 200, r.text
    accepted = repo.accepted(h.store)
    assert len(accepted) == len(ticks)
    assert all(a.base_version for a in accepted)
    assert html.unescape(r.text).count('data-state="accepted"') == len(ticks)
    before = {a.appointment_id: _history(ehr, a.appointment_id) for a in accepted}

    # refused while the downtime lasts: nothing reaches the EHR
    r = c.post("/schedules/rebook/writeback", data={"csrf_token": csrf_of(r.text)})
    assert r.status_code == 409
    assert "The downtime is not over" in html.unescape(r.text)
    assert {a.appointment_id: _history(ehr, a.appointment_id) for a in accepted} == before

    # someone at the EHR moves one of them meanwhile
    moved = accepted[0]
    changed = _at_ehr(ehr, moved.appointment_id)
    changed["comment"] = "moved by phone at the EHR"
    ehr.update(changed)

    downtime.confirm_end(h.store, cfg, "ic", h.clock.now)
    r = c.post("/schedules/rebook/writeback", data={"csrf_token": csrf_of(r.text)})
    assert r.status_code == 200, r.text
    text = _words(r.text)
    others = accepted[1:]
    assert f"Sent to the EHR: {len(others)} confirmed, 1 conflict" in text
    for a in others:
        got = _at_ehr(ehr, a.appointment_id)
        assert parse_instant(got["start"]) == a.start and parse_instant(got["end"]) == a.end
        assert _history(ehr, a.appointment_id) == before[a.appointment_id] + 1
    theirs = _at_ehr(ehr, moved.appointment_id)  # not overwritten
    assert theirs["start"] == changed["start"] and theirs["comment"] == changed["comment"]
    assert _history(ehr, moved.appointment_id) == before[moved.appointment_id] + 1  # theirs
    assert text.count('data-state="confirmed"') == len(others)
    assert text.count('data-state="conflict"') == 1

    # sending again writes nothing
    r = c.post("/schedules/rebook/writeback", data={"csrf_token": csrf_of(r.text)})
    assert "0 update(s) sent" in _words(r.text)
    for a in others:
        assert _history(ehr, a.appointment_id) == before[a.appointment_id] + 1
    assert all(a.written_back_at for a in repo.accepted(h.store) if a in others)

    # the conflict waits in the review queue, the proposal beside what the EHR has now
    (b,) = state.list_by_status(h.store, Status.CONFLICT)
    assert b.entry_id == moved.key and b.kind == appointments.KIND
    reviewer = h.login("him")
    queue = html.unescape(reviewer.get("/review").text)
    assert "Rebooked appointment" in queue and f"Appointment/{moved.appointment_id}" in queue
    one = html.unescape(reviewer.get(f"/review/{moved.key}").text)
    assert "What the scheduler proposed" in one and "moved by phone at the EHR" in one


def test_the_ehr_column_and_the_button_are_for_schedulers(
    hospital_and_ehr: tuple[Hospital, Store, ServerHandle],
) -> None:
    h, _, _ = hospital_and_ehr
    c = h.login("physician")
    page = c.get("/schedules/triage")
    assert page.status_code == 403
    r = c.post("/schedules/rebook/writeback", data={"csrf_token": "x"})
    assert r.status_code in (403, 400)
    # nothing accepted: the scheduler's page says so; refused before any downtime ended
    s = h.login("scheduler")
    page = s.get("/schedules/rebook").text
    assert "None accepted yet." in page
    repo.accept(
        h.store,
        [replace(_any_placement(h), base_version="1")],
        "scheduler",
        h.clock.now,
    )
    r = s.post("/schedules/rebook/writeback", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409
    assert "No downtime has been ended on this replica" in html.unescape(r.text)


def _any_placement(h: Hospital) -> repo.AcceptedPlacement:
    sr = next(h.store.iter_type("Appointment"))
    a = sr.json()
    pid = next(
        p["actor"]["reference"].removeprefix("Patient/")
        for p in a["participant"]
        if p.get("actor", {}).get("reference", "").startswith("Patient/")
    )
    start = parse_instant(a["start"])
    end = parse_instant(a["end"])
    return repo.AcceptedPlacement("p", sr.id, pid, "", "", start, end)
