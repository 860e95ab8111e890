"""The device-data gap page of a unit over the synthetic hospital: after a declared
downtime, each patient on the unit with name, MRN and birth date, the stretches without
vital signs and the doses with nothing recorded; documentation in Standby fills them; CSV;
refused outside the user's units."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from standby import clinical
from standby.journal import repository as journal
from standby.journal.entries import Kind, make_entry
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_site import Hospital


def _downtime(h: Hospital, hours: float) -> None:
    downtime.declare(h.store, MonitorConfig(), "ic", h.clock.now, reason="EHR down")
    h.clock.advance(hours=hours)


def test_the_unit_gap_list_and_journal_documentation(hospital: Hospital) -> None:
    start = hospital.clock.now
    patients = clinical.unit_census(hospital.store, hospital.unit_id, start).patients
    assert patients
    _downtime(hospital, 9)
    c = hospital.login("nurse")
    page = c.get(f"/recovery/gaps/{hospital.unit_id}")
    assert page.status_code == 200, page.text[:500]
    assert "the downtime in progress" in page.text and "Data as of" in page.text
    first = patients[0]
    section = page.text.split(f'data-patient="{first.id}"', 1)[1].split("</section>", 1)[0]
    assert first.mrn in section  # two identifiers: name and MRN (and birth date)
    assert "Vital signs: none documented" in section

    # the nurse documented vital signs every 3 hours on paper, typed into Standby
    entries = [
        make_entry(
            Kind.VITALS,
            patient_id=first.id,
            author="nurse",
            author_name="Nurse, RN",
            role="nurse",
            node="4w-1",
            now=hospital.clock.now,
            performed_at=start + timedelta(hours=h),
            payload={"heart_rate": 80, "systolic": 120, "diastolic": 70},
        )
        for h in (0, 3, 6, 8.5)
    ]
    journal.append(hospital.store, entries)
    again = c.get(f"/recovery/gaps/{hospital.unit_id}").text
    section = again.split(f'data-patient="{first.id}"', 1)[1].split("</section>", 1)[0]
    assert "Vital signs: none documented" not in section
    assert "4 in Standby" in section

    got = c.get(f"/recovery/gaps/{hospital.unit_id}?format=csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert rows and {r["mrn"] for r in rows} >= {first.mrn}
    assert not [r for r in rows if r["mrn"] == first.mrn and r["what"] == "vital signs"]


def test_the_gap_list_is_refused_outside_the_users_units(hospital: Hospital) -> None:
    _downtime(hospital, 2)
    c = hospital.login("nurse2")
    assert c.get(f"/recovery/gaps/{hospital.unit_id}").status_code == 403
    assert hospital.login("scheduler").get("/recovery/gaps").status_code == 403


def test_no_downtime_yet_says_so(hospital: Hospital) -> None:
    c = hospital.login("nurse")
    page = c.get(f"/recovery/gaps/{hospital.unit_id}")
    assert page.status_code == 200 and "No downtime has been declared" in page.text
