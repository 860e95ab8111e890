"""Printed results and schedules as clinicians read them: vitals as sets with flags in
words, labs by panel with the previous value, the OR schedule's priority in words, a title
saying what it holds and one page numbering."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from pypdf import PdfReader

from standby import clinical
from standby.reports import render
from standby.reports.pages import Furniture
from support.reports_support import NOW


def _pages(pdf: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def _or_days(hospital) -> list:
    start = NOW.date()
    days = [clinical.or_schedule(hospital, start + timedelta(days=i)) for i in range(7)]
    return [d for d in days if d.cases][:2]


def test_the_or_pdf_says_what_it_holds_with_priority_in_words(hospital):
    days = _or_days(hospital)
    pdf = render.or_pdf(days, Furniture(NOW, NOW, "all"))
    reader = PdfReader(io.BytesIO(pdf))
    title = str(reader.metadata.title)
    assert title.startswith("OR schedule, all rooms — ") and f"{days[0].day:%B}" in title
    pages = _pages(pdf)
    text = " ".join(pages)
    assert "Unit all" not in text and "unit all" not in text
    assert "All units" in pages[0]
    assert "Priority: EMERGENT" in text
    words = {c.priority for d in days for r in d.rooms for c in r.cases}
    assert words <= {"emergent", "urgent", "elective"} and words
    # one numbering: "Page x of y" counts the whole document, no second "sheet" count
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in page
        assert "sheet" not in page
    inpatients = [
        c.patient.location
        for d in days
        for r in d.rooms
        for c in r.cases
        if c.patient and c.patient.location
    ]
    assert inpatients and all(f"Inpatient: {loc}" in text for loc in inpatients)


def test_printed_vitals_and_labs(hospital):
    census = clinical.unit_census(hospital, clinical.units(hospital)[0].id, NOW)
    for row in census.patients:
        s = clinical.patient_summary(hospital, row.id, NOW)
        if s.vitals.last_full and any(r.flags for r in s.vitals.rows) and s.labs:
            break
    else:
        raise AssertionError("no patient with a full set, a flagged vital and labs")
    text = " ".join(_pages(render.patient_pdf(s, Furniture(NOW, NOW, s.header.unit))))
    assert "Last full set:" in text
    assert text.index("Last full set:") < text.index("Every set, newest first")
    flagged = [f"{r.values[c]} {f}" for r in s.vitals.rows for c, f in r.flags.items()]
    assert any(f in text for f in flagged), flagged[:3]
    assert "H / L: above or below the adult ranges" in text
    assert "Complete blood count" in text and "Basic metabolic panel" in text
    assert "10*3/uL" not in text and "10³/µL" in text
    assert re.search(r"Test Latest Flag When Previous Reference range", text)
