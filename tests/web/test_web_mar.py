"""The summary's MAR and the census as a nurse reads them: during a downtime no dose is
called overdue (and a summary cached before the declaration is not served after it);
code status as an inverted mark with a symbol, not purple; PRN interval and next allowed;
infusions with their rate; times off the day carry their day; statuses in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from standby.accounts import users
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app
from support.mar_fixtures import NOW, everything
from support.web_site import PASSWORD, Clock, Site

STATIC = Path(__file__).resolve().parents[2] / "src" / "standby" / "web" / "static"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    db = tmp_path / "icu.db"
    store = open_store(db=db)
    for r in everything():
        store.upsert(orjson.dumps(r))
    users.add_user(store, "nurse", PASSWORD, role="nurse", units=["*"])
    clock = Clock()
    clock.now = NOW
    settings = Settings(db=db)
    yield Site(create_app(settings, store, clock=clock), store, clock, settings)
    store.close()


def _section(html: str, start: str, end: str = "</section>") -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def _declare(site: Site) -> None:
    downtime.declare(
        site.store, MonitorConfig(), "ic", NOW - timedelta(minutes=90), reason="EHR down"
    )


def test_normal_operation_alerts_the_overdue_dose(site: Site) -> None:
    mar = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar"')
    assert "1 overdue dose." in mar and 'id="mar-downtime"' not in mar


def test_downtime_mar_says_not_charted_never_overdue_even_from_the_cache(site: Site) -> None:
    c = site.login("nurse")
    assert "1 overdue dose." in c.get("/patients/icu1").text  # cached, normal operation
    _declare(site)
    mar = _section(c.get("/patients/icu1").text, 'id="mar"')
    assert 'id="mar-downtime"' in mar
    assert "Check the paper MAR before giving any dose." in mar
    assert mar.lower().replace("never overdue", "").count("overdue") == 0
    assert mar.count('data-state="not-charted"') == 2
    assert "not charted since the EHR went down — check the paper MAR" in mar


def test_downtime_census_says_not_charted(site: Site) -> None:
    c = site.login("nurse")
    assert "OVERDUE" in c.get("/units/icu").text
    _declare(site)
    page = c.get("/units/icu").text
    assert 'id="census-downtime"' in page
    due = _section(page, 'class="due small"', "</td>")
    assert "OVERDUE" not in due and 'data-state="not-charted"' in due


def test_code_status_is_an_inverted_mark_with_a_symbol_not_purple(site: Site) -> None:
    c = site.login("nurse")
    for path in ("/patients/icu1", "/units/icu"):
        html = c.get(path).text
        badge = re.search(
            r'<span class="badge code-limits" data-code-status="dnr">.*?</span></span>', html
        )
        assert badge is not None, path
        assert "&#9888;" in badge.group(0) and "DNR" in badge.group(0)
        assert "do not resuscitate" in badge.group(0)
    css = (STATIC / "screen.css").read_text()
    rules = [r for r in css.split("}") if ".code-" in r]
    assert rules and not any(("4a148c" in r or "6a1b9a" in r) for r in rules)
    assert ".code-dnr" not in css and ".code-limits .code-mark" in css


def test_prn_shows_interval_and_next_allowed(site: Site) -> None:
    mar = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar"')
    row = _section(mar, 'data-prn="albuterol"', "</tr>")
    assert "every 4 h at most" in row
    assert 'next allowed at <strong class="nowrap">30 Nov 03:10</strong>' in row


def test_infusions_show_current_rate_and_last_change(site: Site) -> None:
    mar = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar"')
    heparin = _section(mar, 'data-infusion="heparin"', "</tr>")
    assert "1200 units/h" in heparin
    assert "30 Nov 00:15</span> to 1200 units/h" in heparin
    assert "1000 units/h" in heparin and "Titrate by anti-Xa" in heparin
    norepi = _section(mar, 'data-infusion="norepi"', "</tr>")
    assert "2 mcg/min" in norepi and "no rate documented" in norepi


def test_administration_statuses_in_words(site: Site) -> None:
    recent = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar-recent"', "</table>")
    assert "running" in recent and "in-progress" not in recent and "completed" not in recent


def test_census_due_time_tomorrow_carries_its_day(site: Site) -> None:
    site.clock.now = NOW - timedelta(hours=3, minutes=30)  # Sun 23:30
    due = _section(site.login("nurse").get("/units/icu").text, 'class="due small"', "</td>")
    assert "<b>Mon 30 Nov 00:00</b>" in due
    assert "25 mg tab oral" in due and "25 mg tab 25 mg" not in due  # strength said once


def test_printed_patient_in_a_downtime_says_not_charted(site: Site) -> None:
    import io

    from pypdf import PdfReader

    c = site.login("nurse")
    _declare(site)
    pdf = c.get("/patients/icu1/print.pdf")
    assert pdf.status_code == 200
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "NOT CHARTED" in text and "OVERDUE" not in text
    unit = c.get("/units/icu/print.pdf")
    text = " ".join(
        " ".join((p.extract_text() or "").split())
        for p in PdfReader(io.BytesIO(unit.content)).pages
    )
    assert "NOT CHARTED" in text and "OVERDUE" not in text


def test_mar_later_doses_on_another_day_carry_their_day(site: Site) -> None:
    site.clock.now = NOW - timedelta(hours=5)  # Sun 22:00: the later doses are on Monday
    mar = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar-table"', "</table>")
    row = _section(mar, "Metoprolol", "</tr>")
    assert "<strong>30 Nov 00:00</strong>" in row
    assert "30 Nov 04:00, 30 Nov 08:00, 30 Nov 12:00" in row


def test_a_drips_ordered_rate_never_reads_as_the_rate_running_now(site: Site) -> None:
    """The heparin drip was ordered at 1000 units/h and runs at 1200: the medication list
    says "ordered at 1000" and where the running rate is, never a bare "at 1000"."""
    meds = _section(site.login("nurse").get("/patients/icu1").text, 'id="medications"', "</table>")
    assert "ordered at 1000 units/h" in meds
    assert "the rate running now: under Continuous infusions" in meds
    assert ">at 1000" not in meds and "<br>at 1000" not in meds


def test_a_prn_interval_is_said_with_the_drug_not_in_the_overdue_column(site: Site) -> None:
    """ "every 4 h at most" under the Overdue heading read as an overdue state: it is said
    with the drug, and the PRN row's Overdue cell says a PRN is never overdue."""
    mar = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar"')
    row = _section(mar, 'data-prn="albuterol"', "</tr>")
    cells = row.split("<td")
    assert "every 4 h at most" in cells[0]  # the row header: the drug
    assert "every 4 h at most" not in cells[2] and "never overdue" in cells[2]


def test_a_drips_earlier_rate_is_not_called_given(site: Site) -> None:
    """The heparin drip ran at 1000 units/h before it was raised to 1200: in the last 24
    hours that line is "earlier rate" (a dose "given" it was not); the running one is
    "running"."""
    recent = _section(site.login("nurse").get("/patients/icu1").text, 'id="mar-recent"', "</table>")
    rows = [r for r in recent.split("<tr>") if "Heparin" in r or "heparin" in r]
    assert any("at 1000 units/h" in r and "earlier rate" in r for r in rows), rows
    assert any("at 1200 units/h" in r and "running" in r for r in rows), rows
    assert not any("units/h" in r and ">given<" in r for r in rows), rows
