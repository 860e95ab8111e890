"""The paper MAR and census as the night nurse reads them: a time not in its row's day
carries its day; during a downtime the MAR says so at the top and no dose after it is
"OVERDUE"; PRN orders get a row per dose their interval allows; infusions show their
rate; DNR is an inverted mark with a symbol, never split mid-word."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader
from reportlab.lib import colors

from standby.fhir.census import Census, CensusBed, census_patient
from standby.fhir.display import parse_instant
from standby.fhir.mar import charting_cutoff
from standby.fhir.summary import patient_summary
from standby.reports import render
from standby.reports.medication_record import _prn
from standby.reports.pages import Furniture
from standby.reports.patient_header import code_status_cell
from support.mar_fixtures import DATA_AS_OF, NOW, compartment

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "reports"
DECLARED = NOW - timedelta(minutes=90)


def _pages(pdf: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def _furniture(now=NOW, until=None) -> Furniture:
    return Furniture(
        parse_instant(DATA_AS_OF), now, "MICU", "EHR DOWNTIME" if until else None,
        charted_until=until,
    )  # fmt: skip


def _mar_text(now=NOW, until=None) -> str:
    s = patient_summary(compartment(), now, charted_until=until)
    pages = _pages(render.mars_pdf([s], _furniture(now, until)))
    return " ".join(pages)


def _png(pdf: bytes, name: str) -> None:
    if shutil.which("pdftoppm") is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(ARTIFACTS / name)], check=True)


def test_last_given_under_another_days_rows_carries_its_day():
    sunday_night = NOW - timedelta(hours=5)  # Sun 22:00: the 00:00 dose is under Monday
    text = _mar_text(sunday_night)
    monday = text.split("Monday 30 November 2026", 1)[1]
    first_row = monday.split("Metoprolol", 2)[1]
    assert "Sun 29 Nov 20:08" in first_row  # not a bare "20:08" under Monday's heading


def test_downtime_mar_says_so_at_the_top_and_never_overdue():
    until = charting_cutoff(DECLARED, parse_instant(DATA_AS_OF))
    text = _mar_text(until=until)
    assert "EHR DOWNTIME: doses given since 2026-11-30 00:20 UTC are not in this record" in text
    assert "unless documented in Standby" in text
    assert "NOT CHARTED since the EHR went down — check the paper MAR before giving" in text
    assert "OVERDUE" not in text
    normal = _mar_text()
    assert "OVERDUE" in normal and "NOT CHARTED" not in normal


def test_prn_has_a_row_for_every_dose_its_interval_allows():
    s = patient_summary(compartment(), NOW)
    albuterol = next(e for e in s.mar.prn if e.medication.id == "albuterol")
    table = _prn(s, albuterol)
    assert len(table._cellvalues) == 1 + 6  # header + q4h in 24 h
    text = _mar_text()
    assert "every 4 h at most" in text
    assert "NEXT ALLOWED: Mon 30 Nov 03:10" in text
    assert "Last given Sun 29 Nov 23:10" in text


def test_prn_next_allowed_on_paper_is_a_time_not_now():
    """A sheet is read for hours after it is printed: "NEXT ALLOWED: now" read at 07:00 on
    a sheet printed at 03:30 says nothing true. The paper gives the time, and that it had
    passed when the sheet was printed."""
    later = NOW + timedelta(hours=2)  # past 03:10, the next allowed albuterol
    text = _mar_text(later)
    assert "NEXT ALLOWED: now" not in text
    assert "NEXT ALLOWED: Mon 30 Nov 03:10 (already allowed when printed)" in text


def test_infusions_on_paper_show_rate_and_last_change():
    text = _mar_text()
    assert "CONTINUOUS INFUSIONS" in text
    assert "1200 units/h" in text and "Mon 30 Nov 00:15 to 1200 units/h" in text
    assert "Titrate by anti-Xa" in text and "Rate changes on paper" in text
    assert "running" in text  # the in-progress administration, in words


def test_dnr_is_an_inverted_mark_never_split():
    s = patient_summary(compartment(), NOW)
    cell = code_status_cell(s.header.code_status, 90)
    styles = [c for c in cell._bkgrndcmds if c[0] == "BACKGROUND"]
    assert styles and styles[0][3] == colors.black
    row = census_patient(s)
    census = Census("icu", "MICU", "Medical ICU", NOW, [CensusBed("bed1", "MICU-01", "", row)])
    pdf = render.census_pdf(census, _furniture())
    text = " ".join(_pages(pdf))
    assert "⚠ DNR" in text and "do not resuscitate" in text
    packet = render.patient_pdf(s, _furniture())
    assert all("⚠ DNR do not resuscitate" in t for t in _pages(packet))  # every header
    _png(pdf, "icu-census")
    _png(render.mars_pdf([s], _furniture()), "icu-mar")
    until = charting_cutoff(DECLARED, parse_instant(DATA_AS_OF))
    down = patient_summary(compartment(), NOW, charted_until=until)
    _png(render.mars_pdf([down], _furniture(NOW, until)), "icu-mar-downtime")


def test_drug_names_break_between_words_or_after_a_hyphen_never_inside_one():
    from support.mar_fixtures import request

    q6 = {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}
    orders = [
        request("pip", "Piperacillin-tazobactam 4.5 g inj", {"timing": q6}),
        request("hctz", "Hydrochlorothiazide 25 mg tab", {"timing": q6}),
    ]
    s = patient_summary([*compartment(), *orders], NOW)
    text = _mar_text_of(s)
    assert "tazobactam" in text and "Hydrochlorothiazide" in text
    assert "tazob actam" not in text and "Hydrochlorothiazid e" not in text


def _mar_text_of(s) -> str:
    return " ".join(_pages(render.mars_pdf([s], _furniture())))


def test_downtime_census_sheet_says_not_charted_never_overdue():
    until = charting_cutoff(DECLARED, parse_instant(DATA_AS_OF))
    s = patient_summary(compartment(), NOW, charted_until=until)
    bed = CensusBed("bed1", "MICU-01", "", census_patient(s))
    census = Census("icu", "MICU", "Medical ICU", NOW, [bed], until)
    text = " ".join(_pages(render.census_pdf(census, _furniture(NOW, until))))
    assert "EHR DOWNTIME: doses given since 2026-11-30 00:20 UTC are not in this copy" in text
    assert "NOT CHARTED since the EHR went down — check the paper MAR" in text
    assert "OVERDUE" not in text


def test_packet_generation_in_a_downtime_prints_not_charted(tmp_path):
    import orjson

    from standby.cli.report import downtime_start
    from standby.monitor import downtime
    from standby.monitor.config import MonitorConfig
    from standby.reports.regeneration import generate_all
    from standby.store import open_store
    from support.mar_fixtures import everything

    store = open_store(db=tmp_path / "icu.db")
    try:
        for r in everything():
            store.upsert(orjson.dumps(r))
        assert downtime_start(store) is None
        downtime.declare(store, MonitorConfig(), "ic", DECLARED, reason="EHR down")
        assert downtime_start(store) == DECLARED
        man = generate_all(
            store,
            tmp_path / "out",
            NOW,
            data_as_of=DATA_AS_OF,
            banner="EHR DOWNTIME",
            downtime_since=downtime_start(store),
            schedules=False,
        )
        folder = Path(man.units[0].folder)
        mar = " ".join(_pages((folder / "mar.pdf").read_bytes()))
        assert "NOT CHARTED" in mar and "OVERDUE" not in mar
        census = " ".join(_pages((folder / "census.pdf").read_bytes()))
        assert "NOT CHARTED" in census and "OVERDUE" not in census
    finally:
        store.close()


def test_a_long_downtime_still_prints_every_units_census(hospital_db, tmp_path):
    """A downtime declared a day and a half after the replica's data: every dose since is
    not charted. Each order is one line of the census row (its first dose and how many
    more), so every unit's census still fits its pages (a row taller than a page was a
    LayoutError: no census for that unit)."""
    import shutil
    from datetime import timedelta

    from standby.monitor import downtime
    from standby.monitor.config import MonitorConfig
    from standby.reports.regeneration import generate_all
    from standby.store import open_store
    from support.reports_support import NOW as DATA_NOW

    db = tmp_path / "replica.db"
    shutil.copy(hospital_db, db)
    store = open_store(db=db)
    try:
        now = DATA_NOW + timedelta(hours=36)
        declared = DATA_NOW + timedelta(hours=1)
        downtime.declare(store, MonitorConfig(), "ic", declared, reason="EHR down")
        man = generate_all(
            store,
            tmp_path / "out",
            now,
            data_as_of=DATA_NOW,
            banner="EHR DOWNTIME",
            downtime_since=declared,
            schedules=False,
        )
        assert man.units and man.errors == []
        icu = next(u for u in man.units if "ICU" in u.unit_id.upper())
        census = " ".join(_pages((Path(icu.folder) / "census.pdf").read_bytes()))
        assert "NOT CHARTED" in census and "later dose" in census
    finally:
        store.close()
