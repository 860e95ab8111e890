"""Hostile text in the EHR's data and in unit names: every packet is still written, in
its own folder inside the output folder, and prints the text as text (reportlab's
paragraph markup — `<img>`, `<font>` — is never interpreted)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from standby.reports.regeneration import UNIT_FILES, generate_all, unit_folder
from support.hostile_text import plant, set_aliases
from support.reports_support import NOW, load_ndjson

PLANTED = '<fontsize="40"color="red">BIG</font>'  # as printed, whitespace removed


def _markup(tmp: Path) -> str:
    from PIL import Image

    secret = tmp / "secret.png"  # an image the server can read: what `<img>` would embed
    Image.new("RGB", (4, 4), "red").save(secret)
    return f' <img src="{secret}" width="60" height="60"/><font size="40" color="red">BIG</font>'


def _text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode()


@pytest.fixture(scope="module")
def planted(hospital_ndjson, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    markup = _markup(tmp)
    data = plant(hospital_ndjson, tmp / "ndjson", markup)
    set_aliases(data, {"loc-icu": "..", "loc-3w": "Station Ä", "loc-ed": "Station Ö"})
    store = load_ndjson(data, tmp / "replica.db")
    out = tmp / "out" / "packets"
    man = generate_all(store, out, NOW, data_as_of=NOW - timedelta(minutes=3))
    yield tmp, out, man
    store.close()


def test_every_unit_has_its_own_folder_inside_the_output_folder(planted):
    tmp, out, man = planted
    assert not man.errors
    folders = [Path(u.folder) for u in man.units]
    assert len(set(folders)) == len(folders) == len(man.units) >= 3
    for u in man.units:
        folder = Path(u.folder).resolve()
        assert folder.parent == out.resolve(), u.folder
        for name in UNIT_FILES:
            assert (folder / name).stat().st_size > 1000
    # nothing was written beside the output folder
    assert sorted(p.name for p in (tmp / "out").iterdir()) == ["packets"]


def test_each_folder_holds_its_own_units_packets(planted):
    _tmp, _out, man = planted
    for alias in ("Station Ä", "Station Ö", ".."):
        entry = next(u for u in man.units if u.unit == alias)
        assert f"{alias} ward" in " ".join(_text(Path(entry.folder) / "census.pdf").split())


def test_markup_in_the_data_is_printed_as_text_in_every_pdf(planted):
    _tmp, out, man = planted
    pdfs = [Path(u.folder) / n for u in man.units for n in UNIT_FILES]
    pdfs += [out / "schedules" / "or.pdf", out / "schedules" / "clinics.pdf"]
    for pdf in pdfs:
        body = pdf.read_bytes()
        assert b"/Subtype /Image" not in body, f"{pdf}: an image was embedded from the data"
    census = _text(Path(next(u for u in man.units if u.patients).folder) / "census.pdf")
    assert PLANTED in "".join(census.split())  # printed as text (wrapped in narrow cells)


def test_a_unit_with_no_patients_prints_its_name_as_text(tmp_path):
    from standby.reports import render
    from standby.reports.pages import Furniture

    pdf = tmp_path / "mar.pdf"
    pdf.write_bytes(bytes(render.mars_pdf([], Furniture(NOW, NOW, f"Empty{_markup(tmp_path)}"))))
    assert b"/Subtype /Image" not in pdf.read_bytes()
    assert PLANTED in "".join(_text(pdf).split())


@pytest.mark.parametrize(
    "unit_id",
    ["loc-icu", "LOC-ICU", "loc.icu", "loc_icu", ".", "..", "schedules", "manifest.json", "a" * 64],
)
def test_unit_folders_are_safe_names(unit_id):
    name = unit_folder(unit_id)
    assert name not in (".", "..", "schedules", "manifest.json", "")
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    assert name == name.lower()


def test_unit_folders_never_collide_even_on_a_case_insensitive_disk():
    ids = ["loc-icu", "LOC-ICU", "Loc-Icu", "loc.icu", "loc_icu", "loc-icu-"]
    names = [unit_folder(i).lower() for i in ids]
    assert len(set(names)) == len(ids)
    assert unit_folder("loc-icu") == "loc-icu"  # a plain id is its own folder
