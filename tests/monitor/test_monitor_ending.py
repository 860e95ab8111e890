"""Ending a downtime: the incident commander confirms with the unticked checklist in view;
while recovery is proposed "what to do" says so; the closing message reaches logged-in
staff on their next page and the after-action timeline."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from test_monitor_web import User

from standby.clock import now as utcnow
from standby.monitor import downtime, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.monitor.status import current_status


def rounds(store: Any, health: Health, n: int, start: Any) -> Any:
    for k in range(n):
        at = start + timedelta(seconds=k)
        results = [ProbeResult("fhir-metadata", "fhir-metadata", at, health, 5.0, health.value)]
        downtime.apply_round(store, MonitorConfig(), results, probes.round_health(results, at))
    return start + timedelta(seconds=n)


def end_form(page: str) -> str:
    m = re.search(r'<form method="post" action="/monitor/end".*?</form>', page, re.S)
    assert m, "no end form"
    return html.unescape(m.group(0))


def test_the_end_form_shows_the_unticked_checklist(site: Any, store: Any) -> None:
    ic = User(site, "ic.jones")
    iid = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow()).declared
    assert iid is not None
    items = incidents.checklist(store, iid)
    form = end_form(ic.get(f"/monitor/incidents/{iid}").text)
    assert f"{len(items)} checklist items not ticked" in form
    for c in items:
        assert f"{c.role}: {c.item}" in form
    ic.post(f"/monitor/incidents/{iid}/checklist/{items[0].position}", {"done": "1"})
    form = end_form(ic.get(f"/monitor/incidents/{iid}").text)
    assert f"{len(items) - 1} checklist item" in form
    assert f"{items[0].role}: {items[0].item}" not in form
    assert 'aria-describedby="end-checklist"' in form


def test_ending_with_unticked_items_asks_for_confirmation(site: Any, store: Any) -> None:
    ic = User(site, "ic.jones")
    iid = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow()).declared
    assert iid is not None
    items = incidents.checklist(store, iid)
    for c in items[1:]:
        ic.post(f"/monitor/incidents/{iid}/checklist/{c.position}", {"done": "1"})
    r = ic.post("/monitor/end", {"message": "EHR back"})
    assert r.status_code == 200
    assert current_status(store).state == "downtime"  # not ended yet
    page = html.unescape(r.text)
    assert "1 checklist item not ticked" in page
    assert f"{items[0].role}: {items[0].item}" in page
    for c in items[1:]:
        assert f"{c.role}: {c.item}" not in page
    assert "End the downtime anyway" in page
    assert f'href="/monitor/incidents/{iid}" id="end-go-back">Go back</a>' in page
    m = re.search(r'<form [^>]*id="end-anyway">.*?</form>', page, re.S)
    assert m and 'name="confirm" value="1"' in m.group(0)
    assert 'name="message" value="EHR back"' in m.group(0)
    ic.post("/monitor/end", {"message": "EHR back", "confirm": "1"})
    assert current_status(store).state == "normal"
    md = ic.get(f"/monitor/incidents/{iid}/report.md").text
    assert "closing message: EHR back" in md


def test_ending_with_every_item_ticked_takes_one_post(site: Any, store: Any) -> None:
    ic = User(site, "ic.jones")
    iid = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow()).declared
    assert iid is not None
    for c in incidents.checklist(store, iid):
        ic.post(f"/monitor/incidents/{iid}/checklist/{c.position}", {"done": "1"})
    r = ic.post("/monitor/end", {"message": "All ticked"})
    assert r.status_code == 303
    assert current_status(store).state == "normal"


def test_what_to_do_says_recovery_is_proposed(site: Any, store: Any) -> None:
    nurse = User(site, "nurse.lee")
    t = rounds(store, Health.FAILED, 3, utcnow() - timedelta(minutes=1))
    assert current_status(store).state == "downtime"
    assert "Recovery is proposed" not in current_status(store).what_to_do
    rounds(store, Health.OK, 3, t)
    s = current_status(store)
    assert s.state == "recovering"
    assert s.what_to_do.startswith("Recovery is proposed")
    assert "downtime is NOT over" in s.what_to_do
    assert "The EHR is down" not in s.what_to_do  # it answers again
    for path in ("/units", "/monitor"):
        assert "Recovery is proposed" in html.unescape(nurse.get(path).text), path
    assert "Recovery is proposed" in html.unescape(nurse.c.get("/status").text)


def test_the_closing_message_reaches_staff_and_the_timeline(site: Any, store: Any) -> None:
    ic = User(site, "ic.jones")
    nurse = User(site, "nurse.lee")
    iid = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow()).declared
    ic.post("/monitor/end", {"message": "EHR is back; start back-entry at 15:00", "confirm": "1"})
    assert current_status(store).state == "normal"
    for path in ("/units", "/monitor", "/search"):
        page = html.unescape(nurse.get(path).text)
        assert 'id="downtime-ended"' in page, path
        assert "EHR is back; start back-entry at 15:00" in page, path
    md = nurse.get(f"/monitor/incidents/{iid}/report.md").text
    assert "closing message: EHR is back; start back-entry at 15:00" in md


def test_the_closing_notice_goes_away_after_half_a_day_and_at_the_next_downtime(
    site: Any, store: Any
) -> None:
    nurse = User(site, "nurse.lee")
    long_ago = utcnow() - timedelta(hours=13)
    downtime.declare(store, MonitorConfig(), "ic.jones", long_ago - timedelta(hours=1))
    downtime.confirm_end(store, MonitorConfig(), "ic.jones", long_ago, message="All clear")
    assert 'id="downtime-ended"' not in nurse.get("/units").text
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow() - timedelta(minutes=5))
    downtime.confirm_end(store, MonitorConfig(), "ic.jones", utcnow(), message="Clear again")
    assert "Clear again" in nurse.get("/units").text
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow())
    page = nurse.get("/units").text
    assert 'id="downtime-ended"' not in page and "Clear again" not in page
