"""Documenting while the EHR is down, in the viewer: open only during a downtime or a
drill, to roles that document, on patients the user may open; each entry saved durably
once, audited, and shown in the summary and the MAR marked as not yet in the EHR; the
dose form's wrong-patient guard and warnings."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from standby import clinical
from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.journal import repository as journal
from standby.journal.entries import Kind
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_site import Hospital, csrf_of


def _keep_png(pdf: bytes, name: str) -> None:
    """The first page as a PNG in artifacts/reports (to look at), when poppler is here."""
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("pdftoppm") is None:
        return
    out = Path(__file__).parents[2] / "artifacts" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "70",
            "-f",
            "1",
            "-l",
            "1",
            str(out / f"{name}.pdf"),
            str(out / name),
        ],
        check=False,
    )


def _declare(h: Hospital, *, drill: bool = False) -> None:
    downtime.declare(h.store, MonitorConfig(), "ic", h.clock.now, reason="EHR down", drill=drill)


def _patient(h: Hospital) -> Any:
    return clinical.unit_census(h.store, h.unit_id, h.clock.now).patients[0]


def _form(c: TestClient, url: str) -> dict[str, str]:
    page = c.get(url)
    assert page.status_code == 200, page.text[:300]
    entry_id = re.search(r'name="entry_id" value="([^"]+)"', page.text)
    assert entry_id
    return {"csrf_token": csrf_of(page.text), "entry_id": entry_id.group(1)}


def test_documenting_is_closed_outside_a_downtime(hospital: Hospital) -> None:
    p = _patient(hospital)
    c = hospital.login("nurse")
    r = c.get(f"/patients/{p.id}/document/vitals")
    assert r.status_code == 403 and "open only during a declared EHR downtime" in r.text
    assert "document-link" not in c.get(f"/patients/{p.id}").text


def test_a_nurse_records_vital_signs_once_and_sees_them_marked(hospital: Hospital) -> None:
    _declare(hospital)
    p = _patient(hospital)
    c = hospital.login("nurse")
    assert 'id="document-link"' in c.get(f"/patients/{p.id}").text
    url = f"/patients/{p.id}/document/vitals"
    data = {**_form(c, url), "heart_rate": "92", "systolic": "131", "diastolic": "79"}
    r = c.post(url, data=data, follow_redirects=False)
    assert r.status_code == 303
    again = c.post(url, data=data, follow_redirects=False)  # a double tap
    assert again.status_code == 303
    entries = journal.for_patient(hospital.store, p.id)
    assert [e.kind for e in entries] == [Kind.VITALS]
    assert entries[0].payload == {"heart_rate": 92, "systolic": 131, "diastolic": 79}
    assert entries[0].author == "nurse" and not entries[0].drill
    page = html.unescape(c.get(r.headers["location"]).text)
    assert "Saved." in page and "BP 131/79 mmHg · HR 92/min" in page
    summary = html.unescape(c.get(f"/patients/{p.id}").text)
    assert "not yet in the EHR" in summary and "131/79" in summary
    lines = repository.search_audit(hospital.store, AuditQuery(action="document"))
    assert [a.patient_id for a in lines] == [p.id, p.id]
    assert sum("sent again" in a.detail for a in lines) == 1


def test_an_unlikely_value_is_saved_only_once_confirmed(hospital: Hospital) -> None:
    _declare(hospital)
    p = _patient(hospital)
    c = hospital.login("nurse")
    url = f"/patients/{p.id}/document/vitals"
    data = {**_form(c, url), "temperature_c": "3.7"}
    r = c.post(url, data=data)
    assert r.status_code == 400 and "Temperature 3.7 °C" in html.unescape(r.text)
    assert 'name="confirmed"' in r.text and journal.for_patient(hospital.store, p.id) == []
    r = c.post(url, data={**data, "confirmed": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    assert journal.for_patient(hospital.store, p.id)[0].payload["temperature_c"] == 3.7


def test_a_note(hospital: Hospital) -> None:
    _declare(hospital)
    p = _patient(hospital)
    c = hospital.login("physician")
    url = f"/patients/{p.id}/document/note"
    data = {**_form(c, url), "note_type": "progress", "title": "Night review", "text": "Stable."}
    assert c.post(url, data=data, follow_redirects=False).status_code == 303
    (e,) = journal.for_patient(hospital.store, p.id)
    assert e.kind is Kind.NOTE and e.role == "physician"
    assert "Night review" in c.get(f"/patients/{p.id}").text


def _an_order(h: Hospital, pid: str) -> Any:
    s = clinical.patient_summary(h.store, pid, h.clock.now)
    assert s is not None
    lines = [e for e in s.mar.scheduled if e.infusion is None]
    assert lines, "the synthetic patient should have a scheduled medication"
    return s, lines[0]


def test_the_dose_form_guards_the_patient_and_warns_before_a_second_dose(
    hospital: Hospital,
) -> None:
    _declare(hospital)
    p = _patient(hospital)
    s, line = _an_order(hospital, p.id)
    c = hospital.login("nurse")
    url = f"/patients/{p.id}/document/dose?order={line.medication.id}"
    base = {**_form(c, url), "request_id": line.medication.id, "status": "given"}
    post = f"/patients/{p.id}/document/dose"
    wrong = c.post(post, data={**base, "wristband": "NOT-" + s.header.mrn})
    assert wrong.status_code == 400 and "check the wristband" in wrong.text
    assert s.header.mrn not in wrong.text.split('id="form-error"')[1].split("</p>")[0]
    first = c.post(post, data={**base, "wristband": s.header.mrn}, follow_redirects=False)
    assert first.status_code in (303, 409), first.text[:500]
    if first.status_code == 409:  # this order already had warnings (allergy, too early)
        first = c.post(
            post,
            data={**base, "wristband": s.header.mrn, "acknowledged": "yes"},
            follow_redirects=False,
        )
    assert first.status_code == 303
    (given,) = journal.for_patient(hospital.store, p.id)
    # a second dose now, on a fresh form: the form warns that it was just given
    second = {**_form(c, url), "request_id": line.medication.id, "status": "given"}
    r = c.post(post, data={**second, "wristband": s.header.mrn})
    if line.medication.prn:
        assert 'data-code="interval"' in r.text
    assert r.status_code == 409 and 'id="dose-warnings"' in r.text
    assert len(journal.for_patient(hospital.store, p.id)) == 1
    mar = c.get(f"/patients/{p.id}").text
    assert "in Standby, not yet in the EHR" in mar
    assert given.payload["request_id"] == line.medication.id


@pytest.mark.parametrize("who", ["nurse2", "scheduler", "pharmacist"])
def test_only_roles_that_document_on_their_own_units(hospital: Hospital, who: str) -> None:
    _declare(hospital)
    p = _patient(hospital)
    r = hospital.login(who).get(f"/patients/{p.id}/document/vitals")
    assert r.status_code == 403
    assert journal.for_patient(hospital.store, p.id) == []


def test_drill_entries_are_kept_apart(hospital: Hospital) -> None:
    _declare(hospital, drill=True)
    p = _patient(hospital)
    c = hospital.login("nurse")
    url = f"/patients/{p.id}/document/vitals"
    assert (
        c.post(url, data={**_form(c, url), "spo2": "96"}, follow_redirects=False).status_code == 303
    )
    assert journal.for_patient(hospital.store, p.id, drill=False) == []
    assert len(journal.for_patient(hospital.store, p.id, drill=True)) == 1
    assert "DRILL" in c.get(f"/patients/{p.id}/document").text


HOSTILE = ["", "é€😀", "\x00", "9" * 400, "-1e309", "x" * 5_000, "<b>", "\r\nX: y", "nan"]
FIELDS = [
    "entry_id",
    "performed_at",
    "temperature_c",
    "heart_rate",
    "systolic",
    "diastolic",
    "spo2",
    "weight_kg",
    "pain",
    "comment",
    "confirmed",
    "note_type",
    "title",
    "text",
    "request_id",
    "wristband",
    "scheduled_for",
    "status",
    "dose",
    "route",
    "site",
    "reason",
    "acknowledged",
    "substance",
    "criticality",
    "no_known",
    "category",
    "priority",
    "orderer",
    "medication",
    "frequency",
]


def test_no_input_to_the_forms_gives_a_500(hospital: Hospital) -> None:
    _declare(hospital)
    p = _patient(hospital)
    _s, line = _an_order(hospital, p.id)
    c = hospital.login("physician")
    failures = []
    for form in ("vitals", "note", "dose", "allergy", "order"):
        url = f"/patients/{p.id}/document/{form}"
        token = csrf_of(c.get(url).text)
        for value in HOSTILE:
            data = {f: value for f in FIELDS}
            for extra in ({}, {"request_id": line.medication.id}):
                r = c.post(url, data={**data, **extra, "csrf_token": token})
                if r.status_code >= 500:
                    failures.append(f"{form} {value[:10]!r}: {r.status_code}")
        for q in ("order", "due"):
            for value in HOSTILE:
                if c.get(url, params={q: value, "order": line.medication.id}).status_code >= 500:
                    failures.append(f"GET {form} {q}={value[:10]!r}")
    assert failures == []
    assert len(journal.for_patient(hospital.store, p.id)) <= 3 * len(HOSTILE)


def test_an_allergy_and_no_known_allergies_only_where_none_are_listed(hospital: Hospital) -> None:
    _declare(hospital)
    c = hospital.login("nurse")
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    listed = unknown = None
    for row in census.patients:
        s = clinical.patient_summary(hospital.store, row.id, hospital.clock.now)
        assert s is not None
        if s.allergies.items and listed is None:
            listed = row
        if not s.allergies.items and unknown is None:
            unknown = row
    assert listed is not None and unknown is not None
    url = f"/patients/{listed.id}/document/allergy"
    refused = c.post(url, data={**_form(c, url), "no_known": "yes"})
    assert refused.status_code == 400 and "the EHR lists allergies" in html.unescape(refused.text)
    data = {**_form(c, url), "substance": "Latex", "reaction": "Hives", "criticality": "low"}
    assert c.post(url, data=data, follow_redirects=False).status_code == 303
    page = html.unescape(c.get(f"/patients/{listed.id}").text)
    assert "Latex" in page.split('id="h-allergies"')[1].split("</section>")[0]
    url = f"/patients/{unknown.id}/document/allergy"
    data = {**_form(c, url), "no_known": "yes"}
    assert c.post(url, data=data, follow_redirects=False).status_code == 303
    (nka,) = journal.for_patient(hospital.store, unknown.id)
    assert nka.kind is Kind.NO_KNOWN_ALLERGIES
    assert 'data-allergy-section="nka"' in c.get(f"/patients/{unknown.id}").text


def test_orders_are_written_by_physicians(hospital: Hospital) -> None:
    _declare(hospital)
    p = _patient(hospital)
    url = f"/patients/{p.id}/document/order"
    assert hospital.login("nurse").get(url).status_code == 403
    c = hospital.login("physician")
    form = _form(c, url)
    assert 'value="Physician"' in c.get(url).text  # the orderer defaults to who is writing
    data = {**form, "category": "lab", "text": "Basic metabolic panel", "priority": "stat"}
    bad = c.post(url, data=data)  # no orderer: the form's default was cleared
    assert bad.status_code == 400 and "orderer" in bad.text
    data["orderer"] = "Dr. Physician"
    assert c.post(url, data=data, follow_redirects=False).status_code == 303
    (e,) = journal.for_patient(hospital.store, p.id)
    assert e.kind is Kind.ORDER and e.payload["priority"] == "stat"
    page = html.unescape(c.get(f"/patients/{p.id}").text)
    assert "Basic metabolic panel" in page.split('id="orders"')[1]


def test_the_documentation_prints_with_the_patients_identifiers(hospital: Hospital) -> None:
    import io

    from pypdf import PdfReader

    _declare(hospital)
    p = _patient(hospital)
    c = hospital.login("nurse")
    url = f"/patients/{p.id}/document/note"
    data = {**_form(c, url), "note_type": "nursing", "title": "Night", "text": "Slept well."}
    assert c.post(url, data=data, follow_redirects=False).status_code == 303
    url = f"/patients/{p.id}/document/vitals"
    assert (
        c.post(url, data={**_form(c, url), "spo2": "95"}, follow_redirects=False).status_code == 303
    )
    r = c.get(f"/patients/{p.id}/document/print.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    _keep_png(r.content, "downtime-documentation")
    text = " ".join(
        " ".join((pg.extract_text() or "").split()) for pg in PdfReader(io.BytesIO(r.content)).pages
    )
    assert p.mrn in text and "Data as of" in text and "not yet in the EHR" in text
    assert "Slept well." in text and "SpO2 95 %" in text
    for e in journal.for_patient(hospital.store, p.id):
        assert e.id in text.replace(" ", "") or e.id[:8] in text
