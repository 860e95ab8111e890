"""In Debian's Chromium, during a downtime: a nurse records vital signs and a dose (the
wristband's MRN typed), a physician writes a note; each appears in the summary marked as
not yet in the EHR. Screenshots: artifacts/screenshots/web-document-*.png."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from standby import clinical
from standby.accounts import users
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_browser import axe_source, axe_violations, chromium, log_in, served, shot, zoomed
from support.web_site import PASSWORD, Hospital

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


def _adt_shot(page: Any, tmp_path: Path, name: str) -> None:
    """A screenshot under the test's tmp dir, with a copy in /tmp/shots/adt/ to look at."""
    path = tmp_path / f"adt-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = Path("/tmp/shots/adt")
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, keep / path.name)


def test_a_registrar_registers_and_a_nurse_transfers_during_a_downtime(
    hospital: Hospital, tmp_path: Path
) -> None:
    web = hospital.app.state.web
    web.settings = web.settings.model_copy(
        update={
            "journal_mrn_range": "DT4W-0001..DT4W-0999",
            "journal_encounter_range": "DE4W-0001..DE4W-0999",
        }
    )
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    mover = census.occupied[0]
    assert mover.patient is not None
    # free beds, the nurse's unit first (how full the synthetic hospital is depends on the
    # day); a nurse on every unit sees them wherever they are
    free = [
        (u.id, b)
        for u in sorted(clinical.units(hospital.store), key=lambda u: u.id != hospital.unit_id)
        for b in clinical.unit_census(hospital.store, u.id, hospital.clock.now).beds
        if b.patient is None and b.bed_id
    ]
    (bed_unit, bed), (target_unit, target) = free[0], free[1]
    users.add_user(hospital.store, "nurse-all", PASSWORD, role="nurse", units=["*"])
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page(viewport=TABLET)
        log_in(page, base, "registrar")
        page.get_by_role("link", name="Register a patient").click()
        page.wait_for_url(f"{base}/register")
        page.get_by_label("Family name").fill("Okafor")
        page.get_by_label("Given name(s)").fill("Chidi")
        page.get_by_label("Date of birth").fill("1961-07-14")
        page.get_by_label("Male", exact=True).check()
        page.get_by_label("Address", exact=True).fill("12 Elm Street, Springfield")
        page.get_by_label("Phone", exact=True).fill("555-0142")
        page.get_by_label("Brought in by (name, relationship, phone)").fill("Ada Okafor, wife")
        page.locator("#location_id").select_option(bed.bed_id)
        _adt_shot(page, tmp_path, "1-register-form")
        page.get_by_role("button", name="Register").click()
        page.wait_for_url(f"{base}/register/journal-*")
        assert page.locator("#downtime-mrn").inner_text() == "DT4W-0001"
        assert "not in the EHR" in page.locator("#registered-note").inner_text()
        _adt_shot(page, tmp_path, "2-registered")
        pid = page.url.rsplit("/", 1)[1]
        with page.expect_download() as got:
            page.locator("#wristband").click(modifiers=["Alt"])
        band = Path(got.value.path()).read_bytes()
        assert band.startswith(b"%PDF")
        page.context.clear_cookies()
        log_in(page, base, "nurse-all")
        page.goto(f"{base}/units/{bed_unit}")
        row = page.locator(f'tr[data-patient="{pid}"]')
        assert "Registered during downtime — not in the EHR" in row.inner_text()
        assert "DT4W-0001" in row.inner_text()
        _adt_shot(page, tmp_path, "3-census-registered")
        row.get_by_role("link").first.click()
        page.wait_for_url(f"{base}/patients/{pid}")
        assert (
            "Registered during downtime — not in the EHR"
            in page.locator("#registered-in-downtime").inner_text()
        )
        assert page.locator("#patient-mrn").inner_text() == "DT4W-0001"
        _adt_shot(page, tmp_path, "4-summary-registered")
        # the nurse moves one of her patients to the bed next door... and it leaves her list
        page.goto(f"{base}/patients/{mover.patient.id}")
        page.locator("#document-link").click()
        page.get_by_role("link", name="Transfer to another bed or unit").click()
        occupied = page.locator(f'#location_id option[value="{census.occupied[1].bed_id}"]')
        assert occupied.is_disabled() and "OCCUPIED" in occupied.inner_text()
        page.locator("#location_id").select_option(target.bed_id)
        _adt_shot(page, tmp_path, "5-transfer-form")
        page.get_by_role("button", name="Save transfer").click()
        page.wait_for_url(f"{base}/patients/{mover.patient.id}/document?saved=*")
        assert "Moved to" in page.locator("#journal-entries").inner_text()
        page.goto(f"{base}/units/{target_unit}")
        moved = page.locator(f'#census tr[data-patient="{mover.patient.id}"]')
        assert "Moved here during downtime — not yet in the EHR" in moved.inner_text()
        assert target.bed in moved.inner_text()
        _adt_shot(page, tmp_path, "6-census-after-transfer")


def test_the_adt_and_registration_forms_pass_axe(hospital: Hospital) -> None:
    web = hospital.app.state.web
    web.settings = web.settings.model_copy(
        update={
            "journal_mrn_range": "DT4W-0001..DT4W-0999",
            "journal_encounter_range": "DE4W-0001..DE4W-0999",
        }
    )
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    patient = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    source = axe_source()
    found: list[str] = []
    with served(hospital.app) as base, chromium() as browser:
        for user, paths in (
            (
                "nurse",
                [f"/patients/{patient.id}/adt/transfer", f"/patients/{patient.id}/adt/discharge"],
            ),
            ("registrar", ["/register"]),
        ):
            for zoom in (100, 200):
                page = browser.new_page(bypass_csp=True, **zoomed(zoom))
                log_in(page, base, user)
                for path in paths:
                    page.goto(f"{base}{path}")
                    found += [f"{path} at {zoom}%: {v}" for v in axe_violations(page, source)]
                if user == "registrar" and zoom == 100:
                    page.get_by_label("Family name").fill("Okafor")
                    page.get_by_label("Date of birth").fill("1961-07-14")
                    page.get_by_label("Female", exact=True).check()
                    page.get_by_label("Emergency department").check()
                    page.get_by_role("button", name="Register").click()
                    page.wait_for_url(f"{base}/register/journal-*")
                    found += [f"registered: {v}" for v in axe_violations(page, source)]
                page.close()
    assert not found, "\n".join(found)
