"""Admit, transfer and discharge during a downtime, and registering a patient who
arrives: the forms (open only in a downtime or drill, to the right roles), the census
that follows them (replica plus journal: the moved patient in the new bed and not the
old, the discharged one gone and listed as left, the admitted and registered ones
there, each marked), bed occupancy, downtime numbers, the wristband, and a journal-only
patient's summary, search and documentation."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from standby import clinical
from standby.accounts import users
from standby.clinical.patients import search_patients
from standby.journal import repository as journal
from standby.journal.entries import Kind
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.web.routes import printing
from support.web_site import PASSWORD, Hospital, csrf_of


def _declare(h: Hospital, *, drill: bool = False) -> None:
    downtime.declare(h.store, MonitorConfig(), "ic", h.clock.now, reason="EHR down", drill=drill)


def _ranges(h: Hospital) -> None:
    web = h.app.state.web
    web.settings = web.settings.model_copy(
        update={
            "journal_mrn_range": "DT4W-0001..DT4W-0999",
            "journal_encounter_range": "DE4W-0001..DE4W-0999",
            "node_name": "node-4w",
        }
    )


def _form(c: TestClient, url: str) -> dict[str, str]:
    page = c.get(url)
    assert page.status_code == 200, page.text[:500]
    entry_id = re.search(r'name="entry_id" value="([^"]+)"', page.text)
    assert entry_id
    return {"csrf_token": csrf_of(page.text), "entry_id": entry_id.group(1)}


def _census(h: Hospital, unit_id: str) -> clinical.Census:
    return clinical.unit_census(h.store, unit_id, h.clock.now)


def _free_bed(h: Hospital, prefer: str | None = None, *, not_in: str | None = None) -> Any:
    """A free bed: on `prefer` if it has one, else on any other unit (but `not_in`); with
    the unit it is on (`.unit`). How full the synthetic hospital is depends on the day."""
    ids = [u.id for u in clinical.units(h.store) if u.id not in (prefer, not_in)]
    for unit_id in [*([prefer] if prefer else []), *ids]:
        for b in _census(h, unit_id).beds:
            if b.patient is None and b.bed_id:
                return FreeBed(unit_id, b.bed_id, b.bed)
    raise AssertionError("no free bed in the hospital")


@dataclass(frozen=True)
class FreeBed:
    unit: str
    bed_id: str
    bed: str


def _everywhere(h: Hospital) -> TestClient:
    """A nurse on every unit (sees a patient wherever the test put them)."""
    users.add_user(h.store, "nurse-all", PASSWORD, role="nurse", units=["*"])
    return h.login("nurse-all")


def _agrees_with_the_census(h: Hospital) -> None:
    """The forms' bed list (`bed_occupancy`) shows the beds every unit's census shows."""
    from standby.clinical.census import bed_occupancy

    shown = {
        b.bed_id: b.patient.id
        for u in clinical.units(h.store)
        for b in _census(h, u.id).beds
        if b.patient is not None and b.bed_id
    }
    assert bed_occupancy(h.store) == shown


def _bed_of(census: clinical.Census, patient_id: str) -> str | None:
    return next((b.bed_id for b in census.beds if b.patient and b.patient.id == patient_id), None)


def test_the_forms_are_closed_outside_a_downtime(hospital: Hospital) -> None:
    p = _census(hospital, hospital.unit_id).patients[0]
    c = hospital.login("nurse")
    for form in ("transfer", "discharge", "admit"):
        r = c.get(f"/patients/{p.id}/adt/{form}")
        assert r.status_code == 403 and "open only during a declared EHR downtime" in r.text
    r = hospital.login("registrar").get("/register")
    assert r.status_code == 403 and "open only during a declared EHR downtime" in r.text


def test_registering_needs_the_register_permission(hospital: Hospital) -> None:
    _declare(hospital)
    for who in ("nurse", "physician", "scheduler"):
        r = hospital.login(who).get("/register")
        assert r.status_code == 403 and "does not allow this page" in r.text
    p = _census(hospital, hospital.unit_id).patients[0]
    r = hospital.login("registrar").get(f"/patients/{p.id}/adt/transfer")
    assert r.status_code == 403  # ADT is `document`'s
    assert hospital.login("registrar").get("/register").status_code == 200


def _transfer(h: Hospital, c: TestClient, pid: str, bed_id: str) -> Any:
    url = f"/patients/{pid}/adt/transfer"
    return c.post(url, data={**_form(c, url), "location_id": bed_id}, follow_redirects=False)


def test_a_transfer_moves_the_patient_on_both_censuses(hospital: Hospital) -> None:
    _census_after_transfer(hospital)


@pytest.mark.postgres
def test_a_transfer_moves_the_patient_on_postgresql(pg_hospital: Hospital) -> None:
    _census_after_transfer(pg_hospital)


def _census_after_transfer(h: Hospital) -> None:
    _declare(h)
    c = h.login("nurse")
    before = _census(h, h.unit_id)
    p = before.patients[0]
    old_bed = _bed_of(before, p.id)
    target = _free_bed(h, h.other_unit_id, not_in=h.unit_id)
    # the census pages are read (and cached) before the move
    ic = h.login("ic")
    assert f'data-patient="{p.id}"' not in ic.get(f"/units/{target.unit}").text
    assert f'data-patient="{p.id}"' in ic.get(f"/units/{h.unit_id}").text
    r = _transfer(h, c, p.id, target.bed_id)
    assert r.status_code == 303, r.text[:500]
    [e] = journal.for_patient(h.store, p.id)
    assert e.kind is Kind.TRANSFER and e.payload["location_id"] == target.bed_id
    old, new = _census(h, h.unit_id), _census(h, target.unit)
    assert _bed_of(new, p.id) == target.bed_id
    assert _bed_of(old, p.id) is None and old_bed not in {b.bed_id for b in old.occupied}
    moved = next(b for b in new.beds if b.bed_id == target.bed_id)
    assert moved.downtime == "Moved here during downtime — not yet in the EHR"
    assert [x.patient_id for x in old.departed] == [p.id]
    assert old.departed[0].what.startswith("Moved to ")
    # the viewer's census (through the read cache) follows at once, both units
    new_page = html.unescape(ic.get(f"/units/{target.unit}").text)
    assert f'data-patient="{p.id}"' in new_page
    assert "Moved here during downtime — not yet in the EHR" in new_page
    old_page = html.unescape(ic.get(f"/units/{h.unit_id}").text)
    row = re.search(rf'<tr data-patient="{p.id}">.*?</tr>', old_page, re.S)
    assert row and "Moved to" in row.group(0)  # listed under "left this unit", not in a bed
    assert "Left this unit during the downtime — not yet in the EHR" in old_page
    summary = h.app.state.web.summaries.summary(p.id, h.clock.now)
    assert summary.header.bed_id == target.bed_id
    _agrees_with_the_census(h)
    # the census PDF packet says the same
    new_pdf = _pdf_text(_everywhere(h).get(printing.unit_pdf_url(target.unit)))
    assert "Moved here during downtime — not yet in the EHR" in " ".join(new_pdf.split())
    old_pdf = " ".join(_pdf_text(c.get(printing.unit_pdf_url(h.unit_id))).split())
    assert "Left this unit during the downtime — not yet in the EHR" in old_pdf
    assert old.departed[0].what in old_pdf


def _pdf_text(r: Any) -> str:
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    done = subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True, check=True)
    return done.stdout.decode()


def test_a_transfer_into_an_occupied_bed_is_refused(hospital: Hospital) -> None:
    _declare(hospital)
    c = hospital.login("nurse")
    census = _census(hospital, hospital.unit_id)
    mover, sitter = census.occupied[0], census.occupied[1]
    assert mover.patient and sitter.patient and sitter.bed_id
    page = c.get(f"/patients/{mover.patient.id}/adt/transfer").text
    option = re.search(rf'<option value="{sitter.bed_id}"[^>]*>', page)
    assert option and "disabled" in option.group(0)  # shown, not choosable
    r = _transfer(hospital, c, mover.patient.id, sitter.bed_id)
    assert r.status_code == 409 and "is occupied on the census" in html.unescape(r.text)
    assert journal.for_patient(hospital.store, mover.patient.id) == []
    # a bed freed by a transfer during the downtime can be taken
    free = _free_bed(hospital, hospital.other_unit_id)
    assert _transfer(hospital, c, sitter.patient.id, free.bed_id).status_code == 303
    assert _transfer(hospital, c, mover.patient.id, sitter.bed_id).status_code == 303
    assert _bed_of(_census(hospital, hospital.unit_id), mover.patient.id) == sitter.bed_id


def _discharge(h: Hospital, c: TestClient, pid: str) -> Any:
    url = f"/patients/{pid}/adt/discharge"
    data = {**_form(c, url), "disposition": "Home"}
    return c.post(url, data=data, follow_redirects=False)


def test_a_discharge_and_an_admission(hospital: Hospital) -> None:
    _census_after_discharge_and_admit(hospital)


@pytest.mark.postgres
def test_a_discharge_and_an_admission_on_postgresql(pg_hospital: Hospital) -> None:
    _census_after_discharge_and_admit(pg_hospital)


def _census_after_discharge_and_admit(h: Hospital) -> None:
    _declare(h)
    c = h.login("nurse")
    census = _census(h, h.unit_id)
    p = census.patients[0]
    bed = _bed_of(census, p.id)
    assert _discharge(h, c, p.id).status_code == 303
    after = _census(h, h.unit_id)
    assert p.id not in {x.id for x in after.patients}
    assert bed not in {b.bed_id for b in after.occupied}
    assert [(x.patient_id, x.what) for x in after.departed] == [(p.id, "Discharged (Home)")]
    # discharged twice: refused (no current encounter)
    r = c.get(f"/patients/{p.id}/adt/discharge")
    assert r.status_code in (403, 404, 409)
    # admitted again, through break-the-glass (no longer on the nurse's unit)
    c.post(
        f"/patients/{p.id}/break-glass",
        data={
            "csrf_token": csrf_of(c.get(f"/patients/{p.id}/break-glass").text),
            "reason": "readmitted during downtime",
        },
    )
    url = f"/patients/{p.id}/adt/admit"
    r = c.post(url, data={**_form(c, url), "location_id": bed}, follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    again = _census(h, h.unit_id)
    row = next(b for b in again.beds if b.bed_id == bed)
    assert row.patient and row.patient.id == p.id
    assert row.downtime == "Admitted during downtime — not yet in the EHR"
    assert again.departed == ()
    _agrees_with_the_census(h)


def test_a_drill_transfer_leaves_the_real_census_alone(hospital: Hospital) -> None:
    _declare(hospital, drill=True)
    c = hospital.login("nurse")
    census = _census(hospital, hospital.unit_id)
    p = census.patients[0]
    free = _free_bed(hospital, hospital.other_unit_id)
    assert _transfer(hospital, c, p.id, free.bed_id).status_code == 303
    assert journal.for_patient(hospital.store, p.id)[0].drill
    assert _bed_of(_census(hospital, hospital.unit_id), p.id) == _bed_of(census, p.id)


def _register(
    h: Hospital, c: TestClient, bed_id: str | None = None, **extra: str
) -> tuple[Any, dict[str, str]]:
    data = {
        **_form(c, "/register"),
        "family": "Okafor",
        "given": "Chidi",
        "birth_date": "1961-07-14",
        "sex": "male",
        "address": "12 Elm Street, Springfield",
        "phone": "555-0142",
        "other_identifier_type": "Driver's licence",
        "other_identifier": "D1234-5678",
        "brought_by": "Ada Okafor (wife), 555-0143",
        "setting": "inpatient",
        "numbers": "new",
        **({"location_id": bed_id} if bed_id else {}),
        **extra,
    }
    return c.post("/register", data=data, follow_redirects=False), data


def _keep(pdf: bytes, tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.pdf"
    out.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", "-singlefile", str(out), str(tmp_path / name)],
        check=True,
    )
    png = tmp_path / f"{name}.png"
    shots = Path("/tmp/shots/adt")
    shots.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, shots / png.name)
    return png


def _crop(pdf: bytes, tmp_path: Path, name: str, *, top: int, height: int) -> Path:
    """A band of the first page at 200 dpi (the page is 2000 pixels wide)."""
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    crop = ["-x", "0", "-y", str(top), "-W", "2000", "-H", str(height)]
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", *crop, "-singlefile", str(src), str(tmp_path / name)],
        check=True,
    )
    return tmp_path / f"{name}.png"


def test_a_registered_patient_is_on_the_census_summary_search_and_documentable(
    hospital: Hospital, tmp_path: Path
) -> None:
    _declare(hospital)
    _ranges(hospital)
    bed = _free_bed(hospital, hospital.unit_id)
    reg = hospital.login("registrar")
    r, _ = _register(hospital, reg, bed.bed_id)
    assert r.status_code == 303, html.unescape(r.text)[:800]
    pid = r.headers["location"].rsplit("/", 1)[1]
    assert pid.startswith("journal-")
    done = html.unescape(reg.get(r.headers["location"]).text)
    assert "DT4W-0001" in done and "DE4W-0001" in done and "OKAFOR, Chidi" in done
    assert "Registered during downtime — not in the EHR" in done
    # the wristband: the downtime MRN as text and as a barcode a scanner reads
    band = reg.get(f"/register/{pid}/wristband.pdf")
    assert band.status_code == 200 and band.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=band.content, capture_output=True, check=True
    ).stdout.decode()
    for part in ("DOWNTIME", "OKAFOR, Chidi", "DOB 1961-07-14", "DT4W-0001"):
        assert part in text
    _keep(band.content, tmp_path, "wristband")
    for half in (0, 1):  # two strips, each read alone: wrist and chart
        png = _crop(band.content, tmp_path, f"wristband-{half}", top=half * 400, height=400)
        decoded = (
            subprocess.run(
                ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, check=True
            )
            .stdout.decode()
            .split()
        )
        assert decoded == ["DT4W-0001"]
    # the census of its unit
    census = _census(hospital, bed.unit)
    row = next(b for b in census.beds if b.bed_id == bed.bed_id)
    assert row.patient and row.patient.id == pid and row.patient.mrn == "DT4W-0001"
    assert row.downtime.startswith("Registered during downtime — not in the EHR")
    nurse = _everywhere(hospital)
    page = html.unescape(nurse.get(f"/units/{bed.unit}").text)
    assert "OKAFOR, Chidi" in page or "Okafor" in page
    assert "Downtime MRN DT4W-0001" in page
    # the summary: two identifiers, marked
    s = html.unescape(nurse.get(f"/patients/{pid}").text)
    assert "DT4W-0001" in s and "1961-07-14" in s and "Okafor" in s.title()
    assert "Registered during downtime — not in the EHR" in s
    # who brought them, a contact without a phone: said so, not an empty "name:"
    assert "Ada Okafor (wife), 555-0143 (Brought the patient in) — no phone recorded" in s
    # search: by name, by downtime MRN, by birth date
    for q in ("okafor", "DT4W-0001", "1961-07-14", "chi oka"):
        found = search_patients(hospital.store, q, now=hospital.clock.now)
        assert pid in [m.id for m in found.matches], q
    hit = search_patients(hospital.store, "DT4W-0001", now=hospital.clock.now).matches[0]
    assert hit.unit_id == bed.unit and hit.mrn == "DT4W-0001"
    page = html.unescape(reg.get("/search?q=okafor").text)
    assert "DT4W-0001" in page
    # documentable: vital signs on the journal-only patient
    url = f"/patients/{pid}/document/vitals"
    data = {**_form(nurse, url), "heart_rate": "104", "systolic": "150", "diastolic": "90"}
    assert nurse.post(url, data=data, follow_redirects=False).status_code == 303
    s = html.unescape(nurse.get(f"/patients/{pid}").text)
    assert "150/90" in s
    vitals = [e for e in journal.for_patient(hospital.store, pid) if e.kind is Kind.VITALS]
    assert vitals[0].patient_id == pid and vitals[0].encounter_id.startswith("journal-")
    # and movable like any patient
    free = _free_bed(hospital, not_in=bed.unit)
    assert _transfer(hospital, nurse, pid, free.bed_id).status_code == 303
    assert _bed_of(_census(hospital, free.unit), pid) == free.bed_id
    _agrees_with_the_census(hospital)


def test_a_registration_into_an_occupied_bed_or_with_a_mistake_uses_no_number(
    hospital: Hospital,
) -> None:
    _declare(hospital)
    _ranges(hospital)
    reg = hospital.login("registrar")
    taken = _census(hospital, hospital.unit_id).occupied[0]
    r, _ = _register(hospital, reg, taken.bed_id)
    assert r.status_code == 409 and "occupied" in html.unescape(r.text)
    r, _ = _register(hospital, reg, None, birth_date="1961-02-30", setting="emergency")
    assert r.status_code == 400 and "must be a date, YYYY-MM-DD" in html.unescape(r.text)
    r, _ = _register(hospital, reg, None)  # an admission without a bed or unit
    assert r.status_code == 400 and "an admission needs a bed or a unit" in html.unescape(r.text)
    r, _ = _register(hospital, reg, None, setting="emergency")
    assert r.status_code == 303
    done = html.unescape(reg.get(r.headers["location"]).text)
    assert "DT4W-0001" in done  # the refused forms took none


def test_two_registrations_at_once_get_two_numbers(hospital: Hospital) -> None:
    _declare(hospital)
    _ranges(hospital)
    clients = [hospital.login("registrar", address=f"10.0.0.{k}") for k in (2, 3, 4, 5)]
    forms = [_form(c, "/register") for c in clients]
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def go(k: int) -> None:
        data = {
            **forms[k],
            "family": f"Walker{k}",
            "birth_date": "1990-01-01",
            "sex": "female",
            "setting": "emergency",
            "numbers": "new",
        }
        barrier.wait()
        results[k] = clients[k].post("/register", data=data, follow_redirects=False)

    threads = [threading.Thread(target=go, args=(k,)) for k in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [303] * len(clients)
    pids = [r.headers["location"].rsplit("/", 1)[1] for r in results]
    regs = [journal.for_patient(hospital.store, pid)[0].payload for pid in pids]
    assert len({p["mrn"] for p in regs}) == len(clients)
    assert len({p["encounter_number"] for p in regs}) == len(clients)


def test_a_registration_sent_twice_is_one_patient_and_one_number(hospital: Hospital) -> None:
    _declare(hospital)
    _ranges(hospital)
    reg = hospital.login("registrar")
    r1, data = _register(hospital, reg, None, setting="ambulatory")
    r2 = reg.post("/register", data=data, follow_redirects=False)
    assert r1.status_code == r2.status_code == 303
    assert r1.headers["location"] == r2.headers["location"]
    r3, _ = _register(hospital, reg, None, setting="ambulatory")
    assert "DT4W-0002" in html.unescape(reg.get(r3.headers["location"]).text)


def test_a_number_from_a_pre_printed_band(hospital: Hospital) -> None:
    _declare(hospital)
    _ranges(hospital)
    reg = hospital.login("registrar")
    band = {"numbers": "band", "band_mrn": "DT4W-0500", "band_encounter": "DE4W-0500"}
    r, _ = _register(hospital, reg, None, setting="emergency", **band)
    assert r.status_code == 303
    assert "DT4W-0500" in html.unescape(reg.get(r.headers["location"]).text)
    r, _ = _register(hospital, reg, None, setting="emergency", **band)
    assert r.status_code == 400 and "handed out already" in html.unescape(r.text)
    outside = {**band, "band_mrn": "XX-0001", "band_encounter": "DE4W-0501"}
    r, _ = _register(hospital, reg, None, setting="emergency", **outside)
    assert r.status_code == 400 and "not a downtime mrn number of this node" in html.unescape(
        r.text
    )


def test_a_node_without_number_ranges_says_so(hospital: Hospital) -> None:
    _declare(hospital)
    r, _ = _register(hospital, hospital.login("registrar"), None, setting="emergency")
    assert r.status_code == 400 and "no range of downtime numbers" in html.unescape(r.text)
