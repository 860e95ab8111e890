"""A registrar matches an ambiguous downtime registration in a real Chromium: nothing
pre-selected, the candidates side by side, a choice with a reason, saved and shown with
its history; no accessibility violations. Screenshots: artifacts/screenshots/web-match-*.png."""

from __future__ import annotations

import pytest

from standby.recovery import matches
from support.recovery_ehr import registrar_site
from support.web_browser import axe_source, axe_violations, chromium, log_in, served, shot

__all__ = ["registrar_site"]

pytestmark = pytest.mark.browser


def test_a_registrar_decides_an_ambiguous_match(registrar_site) -> None:
    site, ids, regs = registrar_site
    axe = axe_source()
    with served(site.app) as base, chromium() as browser:
        page = browser.new_page(bypass_csp=True, viewport={"width": 1280, "height": 900})
        log_in(page, base, "reg.a")
        page.goto(f"{base}/registrations")
        shot(page, "match-1-list")
        page.get_by_role("link", name="SMITH, John").click()
        page.wait_for_url(f"**/registrations/{regs['smith']}")
        assert page.locator("input[name=choice]:checked").count() == 0
        assert axe_violations(page, axe) == []
        shot(page, "match-2-ambiguous")
        page.locator(f"input[name=choice][value='{ids['smith-1']}']").check()
        page.get_by_label("Why").fill("Address 4 Oak Road confirmed with the patient")
        page.get_by_role("button", name="Save the decision").click()
        page.wait_for_url("**saved=1")
        assert page.locator("#saved").is_visible()
        assert "Address 4 Oak Road confirmed" in page.locator("#history").inner_text()
        shot(page, "match-3-saved")
        page.goto(f"{base}/registrations/{regs['okafor']}")
        shot(page, "match-4-exact-preselected")
    d = matches.decision(site.store, regs["smith"])
    assert d is not None and d.ehr_patient_id == ids["smith-1"] and d.by == "reg.a"
