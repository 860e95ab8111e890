"""In Debian's Chromium, the night after a downtime began: a clerk keys a patient's paper
vital signs flowsheet (one line a slip of the pen, shown back and fixed), then a nurse
strikes a line that was keyed on the wrong patient. Screenshots: /tmp/shots/transcribe/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from standby import clinical
from standby.journal import repository as journal
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_browser import chromium, log_in, served
from support.web_site import Hospital

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/transcribe")
DESKTOP = {"width": 1280, "height": 900}


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_clerk_keys_a_paper_vitals_flowsheet(hospital: Hospital) -> None:
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    hospital.clock.advance(hours=4)
    patient = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    zone = hospital.app.state.web.zone
    times = [
        (hospital.clock.now - timedelta(hours=h)).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        for h in (3, 2, 1)
    ]
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        log_in(page, base, "clerk")
        page.goto(f"{base}/transcribe")
        _shot(page, "1-patients")
        page.locator(f'a[href="/patients/{patient.id}/transcribe"]').click()
        page.locator("#transcribe-vitals").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/transcribe/vitals")
        page.locator("#by").select_option("nurse")
        rows = [("124/76", "88", "16", "37.1", "96"), ("130/80", "92", "18", "98.6", "95")]
        rows.append(("", "84", "", "", "97"))
        for n, (t, (bp, hr, rr, temp, spo2)) in enumerate(zip(times, rows, strict=True)):
            page.get_by_label(f"Line {n + 1} time").fill(t)
            page.get_by_label(f"Line {n + 1} BP (mmHg)").fill(bp)
            page.get_by_label(f"Line {n + 1} HR (/min)").fill(hr)
            page.get_by_label(f"Line {n + 1} RR (/min)").fill(rr)
            page.get_by_label(f"Line {n + 1} Temp (°C)").fill(temp)
            page.get_by_label(f"Line {n + 1} SpO2 (%)").fill(spo2)
        page.get_by_label("Line 3 written by").select_option("physician")
        _shot(page, "2-flowsheet-keyed")
        page.get_by_role("button", name="Save the good lines").click()
        assert "Saved 2 rows" in page.locator("#saved").inner_text()
        reason = page.locator("[data-refused]").inner_text()
        assert "°C, not °F" in reason
        _shot(page, "3-one-line-refused")
        page.get_by_label("Line 1 Temp (°C)").fill("37.0")  # the refused line, shown first
        page.get_by_role("button", name="Save the good lines").click()
        assert "Saved 1 row" in page.locator("#saved").inner_text()
        assert page.locator("[data-refused]").count() == 0
        _shot(page, "4-fixed")
        page.goto(f"{base}/patients/{patient.id}/transcribe")
        assert page.locator("#transcribed-entries tbody tr").count() == 3
        _shot(page, "5-keyed-on-patient")
        page.locator("#transcribe-mar").click()
        assert page.locator("#paper-mar tr.order-head").count() >= 1
        _shot(page, "5b-paper-mar")
        entries = journal.for_patient(hospital.store, patient.id)
        assert {e.author for e in entries} == {"nurse", "physician"}
        assert all(e.transcribed_by == "clerk" for e in entries)
        # the nurse whose line it is strikes one (keyed on the wrong patient)
        page.context.clear_cookies()
        log_in(page, base, "nurse")
        wrong = next(e for e in entries if e.author == "nurse")
        page.goto(f"{base}/patients/{patient.id}/document")
        page.locator(f'#entry-{wrong.id} [data-action="strike"]').click()
        page.get_by_label("Why is it struck out?").fill("keyed on the wrong patient")
        _shot(page, "6-strike")
        page.get_by_role("button", name="Strike out").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/document?saved=*")
        row = page.locator(f"#entry-{wrong.id}")
        assert "Struck out" in row.inner_text() and "keyed on the wrong patient" in row.inner_text()
        _shot(page, "7-history")
