"""The summary lists this downtime's recent entries (the last 48 hours), says how many
earlier ones it leaves out and links to the documentation page, which lists them all."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

import pytest

from standby import clinical
from standby.journal import repository as journal
from standby.journal.entries import Entry, make_entry
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.store.base import Store
from support.web_site import Hospital


def _note(pid: str, title: str, at: datetime) -> Entry:
    return make_entry(
        "note",
        patient_id=pid,
        author="nurse",
        author_name="Nurse Test",
        role="nurse",
        node="test",
        now=at,
        payload={"note_type": "progress", "title": title, "text": "Stable."},
    )


def _journal(page: str) -> str:
    """The summary's section of Standby's entries (the notes section shows notes too)."""
    start = page.index('<section id="journal"')
    return page[start : page.index("</section>", start)]


def test_the_summary_lists_the_last_48_hours_and_counts_the_rest(hospital: Hospital) -> None:
    now = hospital.clock.now
    downtime.declare(hospital.store, MonitorConfig(), "ic", now - timedelta(days=4), reason="x")
    pid = clinical.unit_census(hospital.store, hospital.unit_id, now).patients[0].id
    old = [_note(pid, f"Old review {i}", now - timedelta(days=3, hours=i)) for i in range(3)]
    journal.append(hospital.store, old)
    c = hospital.login("nurse")
    page = _journal(html.unescape(c.get(f"/patients/{pid}").text))
    # only older entries: the section still says they exist, never "nothing documented"
    assert "3 earlier entries" in page and "Nothing was documented in the last 48 hours" in page
    assert f'href="/patients/{pid}/document"' in page and "all 3 entries" in page
    assert "Old review" not in page and "Nothing documented on this patient" not in page
    journal.append(hospital.store, [_note(pid, "Night review", now - timedelta(hours=2))])
    page = _journal(html.unescape(c.get(f"/patients/{pid}").text))
    assert "Night review" in page and "Old review" not in page
    assert "3 earlier entries" in page and "all 4 entries" in page
    assert "Nothing was documented in the last" not in page
    listed = html.unescape(c.get(f"/patients/{pid}/document").text)
    assert all(f"Old review {i}" in listed for i in range(3))


def test_recent_entries_alone_are_listed_without_a_count(hospital: Hospital) -> None:
    now = hospital.clock.now
    downtime.declare(hospital.store, MonitorConfig(), "ic", now - timedelta(hours=1), reason="x")
    pid = clinical.unit_census(hospital.store, hospital.unit_id, now).patients[0].id
    journal.append(hospital.store, [_note(pid, "Night review", now - timedelta(minutes=5))])
    page = _journal(html.unescape(hospital.login("nurse").get(f"/patients/{pid}").text))
    assert "Night review" in page and "earlier entr" not in page


def test_the_summary_page_never_reads_the_patients_whole_journal(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weeks of downtime give a patient hundreds of entries: the page reads those it can
    show (`journal.listed_recent`, `summary_entries`), never all of them at every view."""
    now = hospital.clock.now
    downtime.declare(hospital.store, MonitorConfig(), "ic", now - timedelta(days=4), reason="x")
    pid = clinical.unit_census(hospital.store, hospital.unit_id, now).patients[1].id
    old = [_note(pid, f"Old review {i}", now - timedelta(days=3, hours=i)) for i in range(3)]
    journal.append(hospital.store, [*old, _note(pid, "Night review", now - timedelta(hours=2))])
    whole: list[str] = []
    every_entry = journal.for_patient

    def counted(store: Store, patient_id: str, **kw: Any) -> list[Entry]:
        whole.append(patient_id)
        return every_entry(store, patient_id, **kw)

    monkeypatch.setattr(journal, "for_patient", counted)
    page = _journal(html.unescape(hospital.login("nurse").get(f"/patients/{pid}").text))
    assert "Night review" in page and "3 earlier entries" in page and "all 4 entries" in page
    assert pid not in whole
