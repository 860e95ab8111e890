"""The unit packet set, read back with pypdf and compared against the store."""

from __future__ import annotations

import functools
import io
import json
import random
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from standby import clinical
from standby.fhir import display as d
from standby.fhir.infusion import rate_text
from standby.reports.regeneration import UNIT_FILES, generate_all
from support.reports_support import NOW

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "reports"


@functools.cache
def _text(path: str) -> tuple[str, ...]:
    return tuple(" ".join((p.extract_text() or "").split()) for p in PdfReader(path).pages)


def text_of(path: Path) -> list[str]:
    """Each page's text, whitespace collapsed (read once per file: pypdf is slow)."""
    return list(_text(str(path)))


@pytest.fixture(scope="module")
def packets(hospital, tmp_path_factory):
    out = tmp_path_factory.mktemp("packets")
    man = generate_all(hospital, out, NOW, data_as_of=NOW - timedelta(minutes=3), banner="DRILL")
    return out, man


def test_every_care_unit_gets_its_files_and_a_manifest(hospital, packets):
    out, man = packets
    assert not man.errors
    units = clinical.units(hospital)
    assert {u.unit for u in man.units} == {u.alias for u in units}
    for u in man.units:
        for name in UNIT_FILES:
            assert (Path(u.folder) / name).stat().st_size > 1000
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["data_as_of"].startswith("2026-11-28T11:57")
    assert saved["banner"] == "DRILL"
    assert saved["pages"] == man.pages > 0
    assert (out / "schedules" / "or.pdf").exists()


def test_sampled_patients_name_mrn_allergies_and_doses_match_the_store(hospital, packets):
    _out, man = packets
    rng = random.Random(5)
    for unit in man.units:
        census = clinical.unit_census(hospital, unit.unit_id, NOW)
        if not census.patients:
            continue
        mar_pages = text_of(Path(unit.folder) / "mar.pdf")
        packet_text = " ".join(text_of(Path(unit.folder) / "packets.pdf"))
        for row in rng.sample(census.patients, min(3, len(census.patients))):
            patient = hospital.read("Patient", row.id).json()
            name, _, _ = d.human_name(patient["name"])
            mrn = d.mrn(patient)
            mine = [t for t in mar_pages if f"MRN {mrn}" in t]
            assert mine, f"no MAR page for MRN {mrn}"
            assert all(name in t for t in mine)
            # allergies as the store holds them, on every MAR page of the patient
            allergies = [a.json() for a in hospital.compartment(row.id, ["AllergyIntolerance"])]
            substances = [
                d.concept_text(a.get("code"))
                for a in allergies
                if a.get("code", {}).get("coding", [{}])[0].get("code") != "716186003"
                and a.get("clinicalStatus", {}).get("coding", [{}])[0].get("code") == "active"
            ]
            for t in mine:
                if substances:
                    assert substances[0] in t
                elif allergies:
                    assert "No known allergies" in t
                else:
                    assert "Allergies not recorded" in t
            for s in substances:
                assert s in packet_text
            # every active scheduled order of the store appears on the MAR with its dose
            mar_text = " ".join(mine)
            for mr in hospital.compartment(row.id, ["MedicationRequest"]):
                req = mr.json()
                if req.get("status") != "active":
                    continue
                dosage = req["dosageInstruction"][0]
                drug = d.concept_text(req["medicationCodeableConcept"])
                assert drug.split()[0] in mar_text, drug
                if "doseQuantity" not in dosage["doseAndRate"][0]:  # a drip: its ordered rate
                    rate = rate_text(dosage["doseAndRate"][0])
                    assert rate and rate in mar_text, (drug, rate)
                    continue
                dose = d.quantity(dosage["doseAndRate"][0]["doseQuantity"])
                assert dose in mar_text, (drug, dose)


def test_scheduled_dose_times_are_printed(hospital, packets):
    _out, man = packets
    unit = next(u for u in man.units if u.patients)
    _census, summaries = clinical.census.unit_census_and_summaries(hospital, unit.unit_id, NOW)
    pages = text_of(Path(unit.folder) / "mar.pdf")
    s = summaries[0]
    mine = " ".join(t for t in pages if f"MRN {s.header.mrn}" in t)
    for e in s.mar.scheduled:
        for dose in e.doses:
            if dose.state in ("upcoming", "due", "overdue"):
                assert f"{dose.time:%H:%M}" in mine


def test_every_page_has_identifiers_unit_and_data_as_of(packets):
    _out, man = packets
    for unit in man.units:
        for name in ("mar.pdf", "packets.pdf", "forms.pdf"):
            pages = text_of(Path(unit.folder) / name)
            for i, t in enumerate(pages):
                assert "Data as of 2026-11-28 11:57" in t, (name, i)
                assert f"unit {unit.unit}" in t, (name, i)
                assert "CONFIDENTIAL" in t and "DRILL" in t, (name, i)
                assert " of " in t and "Page " in t, (name, i)
                if unit.patients:
                    assert "MRN " in t and "DOB " in t and "ALLERGIES:" in t, (name, i)


def test_census_sheet_lists_every_patient(hospital, packets):
    _out, man = packets
    for unit in man.units:
        census = clinical.unit_census(hospital, unit.unit_id, NOW)
        text = " ".join(text_of(Path(unit.folder) / "census.pdf"))
        for row in census.patients:
            assert row.mrn in text and row.name in text
            assert row.code_status.text.split()[0] in text


def test_render_sample_pages_to_png(packets):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    out, man = packets
    unit = max(man.units, key=lambda u: u.patients)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, first, last in (
        ("census", 1, 1),
        ("mar", 1, 2),
        ("packets", 1, 6),
        ("forms", 1, 4),
        ("labels", 1, 1),
    ):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "70",
                "-png",
                "-f",
                str(first),
                "-l",
                str(last),
                str(Path(unit.folder) / f"{name}.pdf"),
                str(ARTIFACTS / f"unit-{name}"),
            ],
            check=True,
        )
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "70",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(out / "schedules" / "or.pdf"),
            str(ARTIFACTS / "or"),
        ],
        check=True,
    )
    assert list(ARTIFACTS.glob("unit-mar-*.png"))


def test_patient_pdf_for_the_viewer(hospital):
    from standby.reports import render
    from standby.reports.pages import Furniture

    census = clinical.unit_census(hospital, clinical.units(hospital)[0].id, NOW)
    pid = census.patients[0].id
    s = clinical.patient_summary(hospital, pid, NOW)
    pdf = render.patient_pdf(s, Furniture(NOW, NOW, s.header.unit))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == pdf.pages >= 8  # packet + four forms
    assert f"MRN {s.header.mrn}" in pages[-1].extract_text()


def test_each_patient_gets_four_one_page_forms_and_labels(packets):
    _out, man = packets
    for unit in man.units:
        pages = {f.name: f.pages for f in unit.files}
        if unit.patients:
            assert pages["forms.pdf"] == 4 * unit.patients
            text = " ".join(text_of(Path(unit.folder) / "labels.pdf"))
            assert text.count("MRN ") == 3 * unit.patients


def test_label_qr_codes_decode_to_the_mrns(hospital, packets, tmp_path):
    if shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None:
        pytest.skip("zbarimg (zbar-tools) or pdftoppm not installed")
    _out, man = packets
    unit = max(man.units, key=lambda u: u.patients)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(Path(unit.folder) / "labels.pdf"),
            str(tmp_path / "labels"),
        ],
        check=True,
    )
    png = next(tmp_path.glob("labels*.png"))
    done = subprocess.run(
        ["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, check=False
    )
    decoded = {line.strip() for line in done.stdout.splitlines() if line.strip()}
    census = clinical.unit_census(hospital, unit.unit_id, NOW)
    first_page = {p.mrn for p in census.patients[:7]}  # 7 patients per label sheet
    assert decoded == first_page


def test_possible_allergy_conflicts_are_printed_on_the_mar(hospital, packets):
    _out, man = packets
    flagged = 0
    for unit in man.units:
        if not unit.patients:
            continue
        _census, summaries = clinical.census.unit_census_and_summaries(hospital, unit.unit_id, NOW)
        pages = text_of(Path(unit.folder) / "mar.pdf")
        for s in summaries:
            mine = " ".join(t for t in pages if f"MRN {s.header.mrn}" in t)
            assert ("CHECK ALLERGY" in mine) == bool(s.allergy_alerts), s.header.mrn
            flagged += bool(s.allergy_alerts)
    assert flagged  # the generated hospital has at least one such order


def test_packets_show_the_hospitals_time_zone(hospital, tmp_path):
    """A hospital in New York: the footer, "data as of" and the MAR's clock are EST."""
    from zoneinfo import ZoneInfo

    local = NOW.astimezone(ZoneInfo("America/New_York"))
    unit = clinical.units(hospital)[0]
    generate_all(
        hospital,
        tmp_path,
        local,
        data_as_of=NOW - timedelta(minutes=3),
        unit_ids=[unit.id],
        schedules=False,
    )
    census = text_of(next(tmp_path.glob("*/census.pdf")))
    assert f"printed {local:%Y-%m-%d %H:%M} EST" in census[0]
    as_of = (NOW - timedelta(minutes=3)).astimezone(local.tzinfo)
    assert f"Data as of {as_of:%Y-%m-%d %H:%M} EST" in census[0]
    mar = " ".join(text_of(next(tmp_path.glob("*/mar.pdf"))))
    assert f"24 hours from {local:%a %d %b %H:%M}" in mar


def test_an_edge_nodes_packets_say_their_data_is_the_central_standbys(replica_copy, tmp_path):
    """On an edge node every sheet's "data as of" says whose it is; a central node's sheets
    do not (docs/edge-nodes.md; `standby report` on an edge node: test_edge_node.py)."""
    unit = clinical.units(replica_copy)[0]
    as_of = NOW - timedelta(minutes=3)
    kwargs = {"data_as_of": as_of, "unit_ids": [unit.id], "schedules": False}
    generate_all(replica_copy, tmp_path / "central", NOW, **kwargs)
    generate_all(replica_copy, tmp_path / "edge", NOW, edge=True, **kwargs)
    label = f"Data as of {as_of:%Y-%m-%d %H:%M} UTC (copy of the central Standby)"
    for name in ("census.pdf", "mar.pdf"):
        central = text_of(next((tmp_path / "central").glob(f"*/{name}")))
        edge = text_of(next((tmp_path / "edge").glob(f"*/{name}")))
        assert "central Standby" not in " ".join(central), name
        assert all(label in " ".join(page.split()) for page in edge), name


def test_packets_use_no_fhir_words(packets):
    from support.clinician_words import fhir_words_in

    _out, man = packets
    found = {}
    for unit in man.units:
        for name in UNIT_FILES:
            path = Path(unit.folder) / name
            if path.suffix == ".pdf" and path.exists():
                words = fhir_words_in(" ".join(text_of(path)))
                if words:
                    found[f"{unit.unit}/{name}"] = words
    assert found == {}
