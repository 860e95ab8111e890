"""In Chromium at 1024 px (a 10-inch tablet, landscape): the OR board shows every column
without scrolling sideways. Screenshot: artifacts/screenshots/web-or-board-1024.png."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from standby import clinical
from support.web_browser import chromium, served, shot
from support.web_site import PASSWORD, Hospital

pytestmark = pytest.mark.browser


def test_or_board_fits_1024_px(hospital: Hospital) -> None:
    start = hospital.clock.now.date()
    day = next(
        d
        for d in (start + timedelta(days=i) for i in range(7))
        if clinical.or_schedule(hospital.store, d).cases
    )
    # a long procedure name, as real OR lists have them
    first = clinical.or_schedule(hospital.store, day).rooms[0].cases[0]
    sr = hospital.store.read("Appointment", first.appointment_id)
    assert sr is not None
    appt = sr.json()
    appt["description"] = "Laparoscopic cholecystectomy with intraoperative cholangiogram"
    appt["meta"] = {**appt.get("meta", {}), "versionId": "99"}
    hospital.store.upsert(orjson.dumps(appt))
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill("scheduler")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/**")
        page.goto(f"{base}/schedules/or?day={day.isoformat()}")
        shot(page, "or-board-1024")
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('table.or-room')].map("
            "t => t.parentElement.scrollWidth - t.parentElement.clientWidth)"
        )
        assert overflow and all(x <= 0 for x in overflow), overflow
        for th in ("Priority", "Status"):
            cell = page.locator("table.or-room thead th", has_text=th).first
            box = cell.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1024, th
