"""What a clinician reads on screen: the words of a nurse, not of FHIR ("given", not
"completed"; "on the patient's record", not "on the Patient resource"); and no
"Printed …" footer on a screen (it is printed on paper only)."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.clinician_words import fhir_words_in
from support.web_site import Hospital

_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "wbr"}


class _ScreenText(HTMLParser):
    """The text a screen shows: no markup, scripts, styles, or `print-only` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden: list[str] = []  # tags of the open elements not shown on screen

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        if self.hidden or tag in ("script", "style", "title") or "print-only" in classes:
            self.hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.hidden and tag not in _VOID:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def screen_text(html: str) -> str:
    parser = _ScreenText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _clinician_pages(h: Hospital) -> dict[str, str]:
    """Every page a nurse or physician reads, with every patient's summary on the unit."""
    nurse = h.login("nurse")
    pages = {
        "/units": nurse.get("/units").text,
        f"/units/{h.unit_id}": nurse.get(f"/units/{h.unit_id}").text,
        "/search?q=a": nurse.get("/search?q=a").text,
        "/status": h.client().get("/status").text,
    }
    for p in clinical.unit_census(h.store, h.unit_id, h.clock.now).patients:
        pages[f"/patients/{p.id}"] = nurse.get(f"/patients/{p.id}").text
    scheduler = h.login("scheduler")
    for i in range(7):
        day = (h.clock.now + timedelta(days=i)).date().isoformat()
        for path in (f"/schedules/or?day={day}", f"/schedules/clinic?day={day}"):
            pages[path] = scheduler.get(path).text
    return pages


def test_no_printed_footer_on_screen(hospital: Hospital) -> None:
    page = hospital.login("nurse").get(f"/units/{hospital.unit_id}").text
    assert "Printed" not in screen_text(page)
    assert "Data as of" in screen_text(page)
    footer = re.search(r'<footer class="foot".*?</footer>', page, re.S)
    assert footer and re.search(r'<span class="print-only"> Printed [^<]+ by nurse\.', footer[0])
    css = (Path(__file__).parents[2] / "src/standby/web/static/screen.css").read_text()
    assert re.search(r"@media screen\s*\{\s*\.print-only\s*\{\s*display:\s*none", css)


def _fhir_words_shown(h: Hospital) -> dict[str, list[str]]:
    pages = _clinician_pages(h)
    found = {path: fhir_words_in(screen_text(page)) for path, page in pages.items()}
    return {path: words for path, words in found.items() if words}


def test_clinician_pages_use_no_fhir_words(hospital: Hospital) -> None:
    assert _fhir_words_shown(hospital) == {}


def test_clinician_pages_use_no_fhir_words_in_downtime(hospital: Hospital) -> None:
    downtime.declare(hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR down")
    assert _fhir_words_shown(hospital) == {}


def test_not_synchronised_sections_and_statuses_read_in_words() -> None:
    from standby.fhir.summary_model import Section, SectionStatus
    from standby.web.context import environment

    badges = environment().get_template("_badges.html").module
    section = Section([], SectionStatus.NOT_SYNCHRONISED, "problems", "Condition")
    shown = [
        str(badges.empty(section)),  # type: ignore[attr-defined]
        str(badges.empty_status("not-synchronised", "vital signs")),  # type: ignore[attr-defined]
        *(str(badges.appointment_status(s)) for s in ("noshow", "fulfilled", "checked-in")),  # type: ignore[attr-defined]
    ]
    text = screen_text(" ".join(shown))
    assert fhir_words_in(text) == [] and "Condition" not in text
    assert "Standby's copy of the EHR holds no problems — this does not mean none." in text
    assert "holds no vital signs" in text
    assert "Did not attend Done Checked in" in text
