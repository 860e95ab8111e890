"""Each MAR is drawn once: `mar.pdf` draws it and the unit's packets copy its pages
(`standby.reports.reuse`). A packet with copied MAR pages reads as one drawn whole."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest

from standby.clinical.census import unit_census_and_summaries, units
from standby.reports import medication_record, render, reuse
from standby.reports.pages import Furniture
from standby.reports.regeneration import generate_all
from support.reports_support import NOW


def text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) missing")
def test_a_packet_with_copied_mar_pages_reads_as_one_drawn_whole(hospital, tmp_path):
    unit = max(
        units(hospital), key=lambda u: len(unit_census_and_summaries(hospital, u.id, NOW)[1])
    )
    census, summaries = unit_census_and_summaries(hospital, unit.id, NOW)
    assert summaries
    f = Furniture(NOW - timedelta(minutes=2), NOW, unit.alias, "DOWNTIME")
    drawn = render.packets_pdf(summaries, f), render.mars_pdf(summaries, f)
    with reuse.unit_drawing(reuse.UnitDrawing()) as d:
        render.census_pdf(census, replace(f))  # the unit's glyph numbering, as generated
        mars = render.mars_pdf(summaries, f)
        packets = render.packets_pdf(summaries, f)
    assert len(d.mars) == len(summaries)  # every patient's MAR pages were kept
    assert packets.pages == drawn[0].pages and mars.pages == drawn[1].pages
    assert text(packets, tmp_path, "copied.pdf") == text(drawn[0], tmp_path, "drawn.pdf")
    assert text(mars, tmp_path, "m1.pdf") == text(drawn[1], tmp_path, "m2.pdf")


def test_a_unit_draws_each_mar_once(hospital, tmp_path, monkeypatch):
    drawn: list[str] = []
    real = medication_record.mar

    def counted(s):
        drawn.append(s.header.patient_id)
        return real(s)

    monkeypatch.setattr(medication_record, "mar", counted)
    monkeypatch.setattr("standby.reports.patient.mar", counted)
    man = generate_all(hospital, tmp_path, NOW, data_as_of=NOW, workers=1, schedules=False)
    assert not man.errors
    patients = [p for u in man.units for p in u.patient_ids]
    assert drawn and sorted(drawn) == sorted(patients)
