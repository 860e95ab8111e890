"""The browser's own printout of a summary and a census (Chromium's "Save as PDF", which
`page.pdf()` drives), read back page by page with pypdf: every page carries the patient's
identifiers (name, DOB, MRN) and "data as of", and during a downtime the banner's words
printed in its colour, with and without "background graphics" (docs/web.md#printing).

PNGs of the pages go to artifacts/screenshots/web-print-*.png when pdftoppm is installed.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.settings import zone
from standby.sync.status import data_as_of
from standby.web import times
from support.web_browser import SHOTS, chromium, log_in, pdf_page_texts, served
from support.web_site import Hospital

pytestmark = pytest.mark.browser

# The banner's purple (#4a148c) as the PDF's fill colour operator writes it.
PURPLE_FILL = re.compile(rb"0?\.290\d* 0?\.078\d* 0?\.54\d* rg")


def _declare(hospital: Hospital) -> None:
    downtime.declare(
        hospital.store, MonitorConfig(), "ic", hospital.clock.now, reason="EHR unreachable"
    )


def _as_of(hospital: Hospital) -> str:
    as_of = data_as_of(hospital.store)
    assert as_of is not None
    return times.shown(as_of, zone(hospital.settings))


def _print(page: Any, name: str, *, background: bool) -> bytes:
    pdf: bytes = page.pdf(format="Letter", print_background=background)
    if shutil.which("pdftoppm"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        out = SHOTS / f"web-print-{name}"
        Path(f"{out}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "50", f"{out}.pdf", str(out)], check=False)
    return pdf


def _drawn(resources: Any) -> bytes:
    """The drawing operators of a page's form XObjects (where Chromium puts repeated
    elements), recursively."""
    out = b""
    xobjects = (resources or {}).get("/XObject") or {}
    for ref in xobjects.values():
        x = ref.get_object()
        if x.get("/Subtype") == "/Form":
            out += x.get_data() + _drawn(x.get("/Resources"))
    return out


def _pages_with_purple(pdf: bytes) -> list[bool]:
    import io

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    return [
        bool(PURPLE_FILL.search(p.get_contents().get_data() + _drawn(p.get("/Resources"))))  # type: ignore[union-attr]
        for p in pages
    ]


def _a_patient(hospital: Hospital) -> Any:
    return clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]


@pytest.mark.parametrize("state", ["normal", "downtime"])
def test_every_printed_page_of_a_summary_names_the_patient(hospital: Hospital, state: str) -> None:
    if state == "downtime":
        _declare(hospital)
    patient = _a_patient(hospital)
    as_of = _as_of(hospital)
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page()
        log_in(page, base, "nurse")
        page.goto(f"{base}/patients/{patient.id}")
        for background in (False, True):
            pdf = _print(page, f"summary-{state}-{background}", background=background)
            texts = [html.unescape(t) for t in pdf_page_texts(pdf)]
            assert len(texts) >= 2, "a summary long enough to need several pages"
            for n, text in enumerate(texts, 1):
                where = f"page {n} of {len(texts)} (background graphics {background})"
                assert patient.name in text, where
                assert f"DOB {patient.dob}" in text, where
                assert f"MRN {patient.mrn}" in text, where
                assert f"Data as of {as_of}" in text, where
                assert ("EHR DOWNTIME" in text) == (state == "downtime"), where
            if state == "downtime":
                assert all(_pages_with_purple(pdf)), "the banner prints in its colour"


def test_every_printed_page_of_a_census_carries_the_banner(hospital: Hospital) -> None:
    _declare(hospital)
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    as_of = _as_of(hospital)
    with served(hospital.app) as base, chromium() as browser:
        page = browser.new_page()
        log_in(page, base, "nurse")
        page.goto(f"{base}/units/{hospital.unit_id}")
        pdf = _print(page, "census-downtime", background=False)
        texts = pdf_page_texts(pdf)
        assert len(texts) >= 2, "a census long enough to need several pages"
        for n, text in enumerate(texts, 1):
            where = f"page {n} of {len(texts)}"
            assert f"Census {census.unit}" in text, where
            assert f"Data as of {as_of}" in text, where
            assert "EHR DOWNTIME" in text, where
        assert all(_pages_with_purple(pdf)), "the banner prints in its colour"
        printed = _folded(" ".join(texts))
        for p in census.patients:  # each row carries its patient's identifiers
            assert _folded(p.name) in printed and _folded(f"MRN {p.mrn}") in printed


def _folded(text: str) -> str:
    """Without accents and spaces: pypdf reads "ễ" back as a letter and its marks."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c) and c != " "
    )
