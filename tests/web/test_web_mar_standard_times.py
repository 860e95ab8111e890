"""The hospital's standard administration times are a setting, and the times every MAR
shows follow it: the web MAR, the census's due column, the paper MAR printed from the
viewer and the packets regenerated in the background. qNh is counted from the last dose
given on screen and paper alike, and only a time Standby chose is marked."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pypdf import PdfReader

from standby.accounts import users
from standby.reports.regeneration import generate_all
from standby.settings import Settings, standard_times
from standby.store import open_store
from standby.web.app import create_app
from support.web_site import PASSWORD, Clock, Site

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 07:00 EST
HOSPITAL_TIMES = "BID=08:00,20:00; daily=10:00"


def _order(rid: str, name: str, timing: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": name}, "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-28T10:00:00Z", "dosageInstruction": [{"timing": timing}],
    }  # fmt: skip


RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Location", "id": "u1", "name": "4 West", "alias": ["4W"],
     "physicalType": {"coding": [{"code": "wi"}]}},
    {"resourceType": "Location", "id": "b1", "name": "401-A",
     "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/u1"}},
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "Stdtimes", "given": ["Ada"]}],
     "identifier": [{"system": "urn:mrn", "value": "MRN-ST-1"}], "birthDate": "1950-01-01"},
    {"resourceType": "Encounter", "id": "e1", "status": "in-progress", "class": {"code": "IMP"},
     "subject": {"reference": "Patient/p1"},
     "location": [{"location": {"reference": "Location/b1"}, "status": "active"}],
     "period": {"start": "2026-11-28T15:00:00Z"}},
    _order("m1", "Metoprolol 25 mg tab", {"code": {"coding": [{"code": "BID"}]}}),
    _order("m2", "Cefazolin 1 g", {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}),
    # cefazolin first given at 02:30 EST: next 10:30, 18:30, 02:30 (not 08:00, 16:00, 00:00)
    {"resourceType": "MedicationAdministration", "id": "a1", "status": "completed",
     "medicationCodeableConcept": {"text": "Cefazolin 1 g"},
     "subject": {"reference": "Patient/p1"}, "request": {"reference": "MedicationRequest/m2"},
     "effectiveDateTime": "2026-11-30T07:30:00Z", "dosage": {"dose": {"value": 1, "unit": "g"}}},
]  # fmt: skip


def _site(path: Path, **settings: Any) -> Site:
    store = open_store(db=path)
    for r in RESOURCES:
        store.upsert(orjson.dumps(r))
    users.add_user(store, "doc", PASSWORD, role="physician", units=["*"])
    clock = Clock()
    clock.now = NOW
    s = Settings(db=path, timezone="America/New_York", **settings)
    return Site(create_app(s, store, clock=clock), store, clock, s)


def _web_row(html: str, drug: str) -> str:
    return html.split('id="mar-table"', 1)[1].split(drug, 1)[1].split("</tr>", 1)[0]


def _next_due(html: str, drug: str) -> str:
    return _web_row(html, drug).split("<strong>")[-1].split("</strong>")[0]


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _paper_due(text: str, drug: str) -> list[str]:
    """The due times of `drug` in the paper MAR's grid."""
    grid = text.split("MAR — 24 hours from", 1)[1].split("Administrations in the last", 1)[0]
    lines = [line.strip() for line in grid.splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        if line[:2].isdigit() and line[2:3] == ":" and drug in " ".join(lines[i : i + 3]):
            out.append(line[:5])
    return out


def _standard(times: list[str]) -> bool:
    """The hospital's BID times (08:00, 20:00: yesterday's 20:00 overdue first), not the
    default 09:00, 21:00."""
    return times == ["20:00", "08:00", "20:00"]


def test_the_standard_times_setting_changes_web_census_and_paper(tmp_path: Path) -> None:
    site = _site(tmp_path / "h.db", mar_standard_times=HOSPITAL_TIMES)
    try:
        client = site.login("doc")
        html = client.get("/patients/p1").text
        assert _next_due(html, "Metoprolol") == "30 Nov 08:00"
        census = client.get("/units/u1").text
        assert "<b>08:00</b> Metoprolol" in census and "<b>09:00</b> Metoprolol" not in census
        paper = _pdf_text(client.get("/patients/p1/print.pdf").content)
        assert _standard(_paper_due(paper, "Metoprolol"))
        unit = _pdf_text(client.get("/units/u1/print.pdf").content)
        assert _standard(_paper_due(unit, "Metoprolol"))
        man = generate_all(
            site.store,
            tmp_path / "out",
            NOW.astimezone(ZoneInfo("America/New_York")),
            data_as_of=NOW,
            schedules=False,
            standard_times=standard_times(site.settings),
        )
        mar = _pdf_text((Path(man.units[0].folder) / "mar.pdf").read_bytes())
        assert _standard(_paper_due(mar, "Metoprolol"))
    finally:
        site.store.close()


def test_q8h_counted_from_the_dose_given_on_screen_and_paper(tmp_path: Path) -> None:
    site = _site(tmp_path / "h.db")
    try:
        client = site.login("doc")
        html = client.get("/patients/p1").text
        assert _next_due(html, "Cefazolin") == "30 Nov 10:30"
        assert "derived" not in _web_row(html, "Cefazolin")
        assert "times derived from BID — check the order" in _web_row(html, "Metoprolol")
        paper = _pdf_text(client.get("/patients/p1/print.pdf").content)
        assert _paper_due(paper, "Cefazolin") == ["10:30", "18:30", "02:30"]
        flat = " ".join(paper.split())
        assert "Cefazolin 1 g see order see order q8h none" not in flat
        assert "q8h times derived" not in flat
    finally:
        site.store.close()


def test_standby_report_and_the_monitors_packets_follow_the_setting(tmp_path: Path) -> None:
    """The composition roots read the setting: `standby report` (its environment) and the
    monitor's packet run print the hospital's BID times, whatever the time now."""
    from typer.testing import CliRunner

    from standby.cli.main import app
    from standby.cli.monitor import packet_hook
    from standby.settings import load_settings

    db = tmp_path / "h.db"
    _site(db).store.close()
    env = {"STANDBY_MAR_STANDARD_TIMES": HOSPITAL_TIMES, "STANDBY_TIMEZONE": "America/New_York"}
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    settings = load_settings(
        db=db,
        reports_out_dir=tmp_path / "monitor",
        timezone="America/New_York",
        mar_standard_times=HOSPITAL_TIMES,
    )
    store = open_store(db=db)
    try:
        packet_hook(settings, store)("DRILL", NOW)
    finally:
        store.close()
    for folder in (out, tmp_path / "monitor"):
        (mar,) = folder.glob("*/mar.pdf")
        times = _paper_due(_pdf_text(mar.read_bytes()), "Metoprolol")
        assert times and set(times) <= {"08:00", "20:00"}, (folder, times)
