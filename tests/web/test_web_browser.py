"""End to end in Debian's Chromium (Playwright, never a downloaded browser):

1. a nurse logs in, opens her unit, opens a patient, reads the allergies and the MAR, and
   sees the data-as-of banner;
2. a physician searches for a patient by a partial, accent-less name and opens the summary.

Screenshots of each step go to artifacts/screenshots/web-*.png.
"""

from __future__ import annotations

import unicodedata

import pytest

from standby import clinical
from support.web_browser import chromium, served, shot
from support.web_site import PASSWORD, Hospital

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}  # a 10-inch tablet, landscape


def _login(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]


def test_nurse_reads_allergies_and_mar(hospital: Hospital) -> None:
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    patient = census.patients[0]
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport=TABLET)
        page.goto(f"{base}/status")  # no login, no patient data
        assert "Data as of" in page.locator("#data-status").inner_text()
        shot(page, "0-status")
        page.goto(f"{base}/login")
        shot(page, "1-login")
        _login(page, base, "nurse")
        page.wait_for_url(f"{base}/units/{hospital.unit_id}")
        assert page.locator("#data-status").inner_text().startswith("Data as of")
        assert page.locator("#census tbody tr").count() == len(census.beds)
        shot(page, "2-census")
        page.locator(f'tr[data-patient="{patient.id}"] a').first.click()
        page.wait_for_url(f"{base}/patients/{patient.id}")
        head = page.locator("#patient-header")
        assert patient.mrn in head.inner_text() and patient.dob in head.inner_text()
        assert page.locator("#allergy-status").inner_text().strip()
        assert page.locator("#h-allergies").is_visible()
        shot(page, "3-summary")
        page.locator('a[href="#mar"]').click()
        mar = page.locator("#mar")
        assert "Medication administration record" in mar.inner_text()
        # the header with the identifiers stays visible while reading the MAR
        assert head.is_visible() and head.bounding_box()["y"] <= 1  # type: ignore[index]
        shot(page, "4-mar", full_page=False)  # what the nurse sees: header + MAR
        page.emulate_media(media="print")
        shot(page, "5-print")


def test_physician_searches_by_partial_accentless_name(hospital: Hospital) -> None:
    patient = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[
        -1
    ]
    family = patient.name.split(",")[0].strip()
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", family) if not unicodedata.combining(ch)
    ).lower()[:4]
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 1280})  # tablet, portrait
        _login(page, base, "physician")
        page.wait_for_url(f"{base}/units/{hospital.unit_id}")
        page.get_by_role("link", name="Find a patient").click()
        page.get_by_label("Name or MRN").fill(plain)
        shot(page, "6-search-typed")
        page.get_by_role("button", name="Search").click()
        row = page.locator(f'tr[data-patient="{patient.id}"]')
        assert patient.mrn in row.inner_text()
        shot(page, "7-search-results")
        row.locator("a").first.click()
        page.wait_for_url(f"{base}/patients/{patient.id}")
        assert patient.mrn in page.locator("#patient-header").inner_text()
        assert page.locator("#data-status").is_visible()
        shot(page, "8-summary")
        page.get_by_role("link", name="OR board").click()
        assert page.locator("h1").inner_text().startswith("OR board")
        page.get_by_role("link", name="Tomorrow").click()
        shot(page, "8b-or-board-tomorrow")
        # the admin sees the search and the view in the audit log
        admin = browser.new_page(viewport=TABLET)
        _login(admin, base, "admin")
        admin.wait_for_url(f"{base}/admin/audit")
        rows = admin.locator("#audit tbody tr")
        text = rows.all_inner_texts()
        assert any("physician" in t and "view" in t and patient.id in t for t in text)
        assert any("physician" in t and "search" in t for t in text)
        shot(admin, "9-admin-audit")
