"""In Debian's Chromium, the scheduler's journey through an outage with imaging down: the
triage list with the postponed cases, the call list, a proposal, accepting it, "Send
accepted to the EHR" refused while the downtime lasts, then — once the incident
commander has ended it — sent: the EHR column reads "confirmed" and the simulated EHR
holds each new time once. Screenshots: /tmp/shots/schedule/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from standby.clock import parse_instant
from standby.monitor import downtime, probes, schema
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.schedule import repository as repo
from standby.sim.server import ServerHandle
from standby.store import Store
from support import rebook_ehr
from support.web_browser import chromium, log_in, served
from support.web_site import Hospital

pytestmark = [pytest.mark.browser, pytest.mark.slow]

hospital_and_ehr = rebook_ehr.hospital_and_ehr
SHOTS = Path("/tmp/shots/schedule")
WINDOW = {"width": 1280, "height": 900}


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_scheduler_rebooks_and_sends_to_the_ehr_once(
    hospital_and_ehr: tuple[Hospital, Store, ServerHandle],
) -> None:
    h, ehr, _ = hospital_and_ehr
    cfg = MonitorConfig()
    downtime.declare(h.store, cfg, "ic", h.clock.now, reason="EHR and PACS down")
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
    with served(h.app) as base, chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        log_in(page, base, "scheduler")
        page.goto(f"{base}/schedules/triage?show=moved")
        assert "POSTPONE" in page.content().upper()
        _shot(page, "1-triage-postponed")
        page.goto(f"{base}/schedules/calls")
        assert "MRN" in page.content()
        _shot(page, "2-call-list")

        page.goto(f"{base}/schedules/rebook")
        page.locator("#seconds").fill("2")
        page.locator("#propose").click()
        page.wait_for_selector("#accept")
        _shot(page, "3-proposal")
        ticked = page.locator('input[type="checkbox"][name^="take:"]').count()
        assert ticked >= 2
        page.locator("#accept").click()
        page.wait_for_selector("#accepted")
        assert page.locator('#accepted td[data-state="accepted"]').count() == ticked
        _shot(page, "4-accepted")

        page.locator("#writeback").click()  # the downtime is not over
        page.wait_for_selector("p.error[role=alert]")
        assert "The downtime is not over" in page.locator("p.error[role=alert]").inner_text()
        _shot(page, "5-refused-during-downtime")

        downtime.confirm_end(h.store, cfg, "ic", h.clock.now)
        page.goto(f"{base}/schedules/rebook")
        page.locator("#writeback").click()
        page.wait_for_selector("#writeback-result")
        assert page.locator('#accepted td[data-state="confirmed"]').count() == ticked
        assert (
            page.locator("#writeback-result")
            .inner_text()
            .startswith(f"Sent to the EHR: {ticked} confirmed, 0 conflict")
        )
        _shot(page, "6-confirmed")

        page.locator("#writeback").click()  # again: nothing more is written
        page.wait_for_selector("#writeback-result")
        assert "0 update(s) sent" in page.locator("#writeback-result").inner_text()
        _shot(page, "7-sent-again")

    for a in repo.accepted(h.store):
        got = ehr.read("Appointment", a.appointment_id)
        assert got is not None
        body = got.json()
        assert parse_instant(body["start"]) == a.start and parse_instant(body["end"]) == a.end
        assert len(ehr.history("Appointment", a.appointment_id)) == 2  # booked, then moved once
