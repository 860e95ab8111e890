"""What a screen reader is told, in-process (no browser): the census says whose row each
cell is in, the summary's patient name is a heading, every field of the incident page
has a label of its own (a placeholder is not one), and every page carries the running
header that the browser prints on each sheet (docs/web.md#accessibility-and-printing)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from standby import clinical
from standby.monitor import downtime, incidents
from standby.monitor.config import MonitorConfig
from support.web_site import Hospital


class Fields(HTMLParser):
    """The form fields a person fills in, and whether each has a label."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.fields: list[tuple[str, str | None, bool]] = []  # tag, id, inside a label

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append((tag, a.get("id"), self.open_labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [
            f"{tag}#{id_}"
            for tag, id_, inside in self.fields
            if not inside and (id_ is None or id_ not in self.label_for)
        ]


def _patients(hospital: Hospital) -> list[clinical.CensusPatient]:
    return clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients


def test_census_rows_have_bed_and_patient_as_row_headers(hospital: Hospital) -> None:
    page = hospital.login("nurse").get(f"/units/{hospital.unit_id}").text
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)[1:]  # after the column headers
    assert rows
    for p in _patients(hospital):
        row = next(r for r in rows if f'href="/patients/{p.id}"' in r)
        headers = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', row, re.S)
        assert len(headers) == 2, row
        assert p.name in html.unescape(headers[1]) and p.mrn in headers[1]
    for r in rows:  # empty beds too: the bed is the row's header
        assert r.lstrip().startswith('<th scope="row"'), r


def test_patient_name_is_the_summary_heading(hospital: Hospital) -> None:
    p = _patients(hospital)[0]
    page = html.unescape(hospital.login("nurse").get(f"/patients/{p.id}").text)
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page, re.S) == [p.name]


def test_every_field_of_the_incident_page_has_a_label(hospital: Hospital) -> None:
    c = hospital.login("ic")
    pages = [c.get("/monitor").text]  # the declare form
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    incident = incidents.recent(hospital.store)[0].id
    pages.append(c.get(f"/monitor/incidents/{incident}").text)
    for page in pages:
        fields = Fields()
        fields.feed(page)
        assert fields.fields
        assert not fields.unlabelled(), fields.unlabelled()


def test_every_page_carries_the_running_header_for_paper(hospital: Hospital) -> None:
    p = _patients(hospital)[0]
    c = hospital.login("nurse")
    summary = html.unescape(c.get(f"/patients/{p.id}").text)
    running = re.search(r'<div class="running"[^>]*>(.*?)</div>\s*<a class="skip"', summary, re.S)
    assert running, "the running header"
    text = " ".join(re.sub(r"<[^>]+>", " ", running.group(1)).split())
    assert f"{p.name} · DOB {p.dob} · MRN {p.mrn}" in text and "Data as of" in text
    assert "DOWNTIME" not in text
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    census = c.get(f"/units/{hospital.unit_id}").text
    assert re.search(r'<div class="running-downtime">EHR DOWNTIME since [^<]+</div>', census)
