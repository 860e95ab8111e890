"""A charge nurse's re-entry gap list in a real Chromium after a 9-hour downtime: each
patient with name, MRN and birth date, no accessibility violations, and the page as it
prints. Screenshots: artifacts/screenshots/web-gaps-*.png."""

from __future__ import annotations

import pytest

from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_browser import axe_source, axe_violations, chromium, log_in, served, shot
from support.web_site import Hospital

pytestmark = pytest.mark.browser


def test_a_nurse_reads_and_prints_the_gap_list(hospital: Hospital) -> None:
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    hospital.clock.advance(hours=9)
    axe = axe_source()
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(bypass_csp=True, viewport={"width": 1280, "height": 900})
        log_in(page, base, "nurse")
        page.goto(f"{base}/recovery/gaps")
        page.locator("ul.units a").first.click()
        page.wait_for_url("**/recovery/gaps/*")
        assert page.locator("section.gap-patient").count() >= 1
        first = page.locator("section.gap-patient h3").first.inner_text()
        assert "MRN" in first and "born" in first
        assert axe_violations(page, axe) == []
        shot(page, "gaps-1-unit")
        page.emulate_media(media="print")
        shot(page, "gaps-2-print")
        pdf = page.pdf(format="Letter")
        assert pdf.startswith(b"%PDF")
