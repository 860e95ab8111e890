"""In Debian's Chromium, during a downtime: a nurse records vital signs and a dose (the
wristband's MRN typed), a physician writes a note; each appears in the summary marked as
not yet in the EHR. Screenshots: artifacts/screenshots/web-document-*.png."""

from __future__ import annotations

import pytest

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_browser import chromium, log_in, served, shot
from support.web_site import Hospital

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}


def test_a_nurse_and_a_physician_document_during_a_downtime(hospital: Hospital) -> None:
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    patient = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    summary = clinical.patient_summary(hospital.store, patient.id, hospital.clock.now)
    assert summary is not None
    order = next(e for e in summary.mar.scheduled if e.infusion is None)
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport=TABLET)
        log_in(page, base, "nurse")
        page.goto(f"{base}/patients/{patient.id}")
        page.locator("#document-link").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/document")
        shot(page, "document-1-page")
        page.get_by_role("link", name="Vital signs").click()
        page.get_by_label("Heart rate (/min)").fill("88")
        page.get_by_label("Systolic BP (mmHg)").fill("124")
        page.get_by_label("Diastolic BP (mmHg)").fill("76")
        page.get_by_label("Temperature (°C)").fill("3.7")  # a slip of the decimal point
        page.get_by_role("button", name="Save vital signs").click()
        assert "Temperature 3.7 °C" in page.locator("#form-error").inner_text()
        shot(page, "document-2-vitals-confirm")
        page.get_by_label("Temperature (°C)").fill("37.1")
        page.get_by_role("button", name="Save vital signs").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/document?saved=*")
        assert "Saved." in page.locator("#saved").inner_text()
        page.get_by_role("link", name="Medication given, held or refused").click()
        page.locator(f'input[name="order"][value="{order.medication.id}"]').check()
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Patient's MRN from the wristband (scan or type)").fill(patient.mrn)
        shot(page, "document-3-dose")
        page.get_by_role("button", name="Save").click()
        if page.locator("#dose-warnings").count():
            shot(page, "document-3b-dose-warnings")
            page.locator("#acknowledged").check()
            page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/document?saved=*")
        rows = page.locator("#journal-entries tbody tr")
        assert rows.count() == 2
        shot(page, "document-4-saved")
        page.context.clear_cookies()
        log_in(page, base, "physician")
        page.goto(f"{base}/patients/{patient.id}/document/note")
        page.get_by_label("Progress note").check()
        page.get_by_label("Title").fill("Downtime night review")
        page.get_by_label("Note", exact=True).fill("Comfortable. Plan unchanged.")
        page.get_by_role("button", name="Save note").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/document?saved=*")
        page.goto(f"{base}/patients/{patient.id}")
        journal = page.locator("#journal")
        assert "not yet in the EHR" in journal.inner_text()
        assert journal.locator("tbody tr").count() == 3
        assert "in Standby, not yet in the EHR" in page.locator("#mar").inner_text()
        shot(page, "document-5-summary")
