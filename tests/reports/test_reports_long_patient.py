"""A patient with 60 active medications and a long allergy list: everything is printed,
over several pages, with the patient's identifiers and allergies on every page."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from standby.fhir.summary import patient_summary
from standby.reports import render
from standby.reports.pages import Furniture
from support.summary_fixtures import (
    LOCATIONS,
    NOW,
    administration,
    allergy,
    encounter,
    med_request,
    patient,
)

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "reports"
TIMINGS = [
    {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}},
    {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
    {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    {"repeat": {"timeOfDay": ["08:00:00", "14:00:00", "22:00:00"]}},
]


def long_patient():
    res = [
        patient(family="Montgomery-Featherstonehaugh", given="Alexandria Josephine"),
        encounter(),
    ]
    for i in range(25):
        res.append(
            allergy(
                f"Allergen number {i:02d} (synthetic substance)",
                code=str(i),
                reaction="Urticaria and angioedema of the face",
            )
        )
    for i in range(60):
        prn = i % 10 == 9
        res.append(
            med_request(
                f"m{i}",
                f"Medication{i:02d} hydrochloride extended release",
                dose=10 + i,
                timing=TIMINGS[i % 4],
                prn=prn,
            )
        )
        res.append(administration(f"a{i}", f"m{i}", NOW - timedelta(hours=2, minutes=i)))
    return patient_summary(res, NOW, resolved=LOCATIONS)


@pytest.fixture(scope="module")
def pdf():
    s = long_patient()
    f = Furniture(NOW - timedelta(minutes=4), NOW, "4W", banner="DOWNTIME")
    return s, render.patient_pdf(s, f)


def pages_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_every_medication_and_allergy_is_printed(pdf):
    s, data = pdf
    text = "\n".join(pages_text(data))
    flat = " ".join(text.split())
    for m in s.medications:
        assert m.name.split()[0] in flat, m.name
    for a in s.allergies.items:
        assert a.substance.split("(")[0].strip() in flat
    # each scheduled dose of the next 24 h has a row in the MAR
    n_doses = sum(
        1 for e in s.mar.scheduled for d in e.doses if d.state in ("due", "upcoming", "overdue")
    )
    assert n_doses > 60
    assert flat.count("hydrochloride") >= 60 + n_doses


def test_identifiers_and_allergies_on_every_page(pdf):
    s, data = pdf
    texts = pages_text(data)
    assert len(texts) > 8
    for i, t in enumerate(texts, start=1):
        flat = " ".join(t.split())
        assert s.header.name in flat, i
        assert f"MRN {s.header.mrn}" in flat, i
        assert f"DOB {s.header.dob}" in flat, i
        assert "ALLERGIES:" in flat, i
        assert "DOWNTIME" in flat and "Data as of" in flat, i
        assert f"Page {i} of {len(texts)}" in flat, i
        assert "CONFIDENTIAL" in flat, i


def test_render_sample_pages_to_png(pdf):
    _, data = pdf
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    src = ARTIFACTS / "long-patient.pdf"
    src.write_bytes(data)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "70",
            "-png",
            "-f",
            "1",
            "-l",
            "4",
            str(src),
            str(ARTIFACTS / "long-patient"),
        ],
        check=True,
    )
    assert len(list(ARTIFACTS.glob("long-patient-*.png"))) == 4


def test_page_headers_name_the_section_the_page_starts_with(pdf):
    _, data = pdf
    texts = pages_text(data)
    titles = [
        "Downtime vital signs flowsheet",
        "Downtime medication administration",
        "Downtime progress note",
        "Downtime order sheet",
    ]
    for title, text in zip(titles, texts[-4:], strict=True):
        assert text.count(title) == 2  # the header and the form's heading
