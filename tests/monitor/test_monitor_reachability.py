"""The data bar and the banner never disagree: whether the EHR answers is what was last
observed (the sync's last request or the monitor's last probe round, whichever is newer),
never the end of a sync round that went on retrying for minutes.

The sync's and the monitor's records are written by their own functions with times a few
seconds apart, in the order an outage and a recovery write them; every page is then read
as a nurse (census list, monitor page) and as anyone (the public status page)."""

from __future__ import annotations

import html
import re
import warnings
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from standby.clock import now as utcnow
from standby.monitor import downtime, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.monitor.status import Reachability, current_status, latest_observation
from standby.store.base import Store
from standby.sync import status as sync_status
from standby.sync.http import FhirClient, RetryPolicy
from support.monitor_site import PASSWORD, csrf_of

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

URL = "http://ehr.test/fhir"
CFG = MonitorConfig()


def login(app: Any) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"username": "nurse.lee", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text
    return c


def monitor_round(store: Store, at: datetime, health: Health) -> None:
    results = [ProbeResult("fhir-metadata", "fhir-metadata", at, health, 12.0, health.value)]
    downtime.apply_round(store, CFG, results, probes.round_health(results, at))


def pages(app: Any) -> dict[str, str]:
    nurse = login(app)
    out = {p: html.unescape(nurse.get(p).text) for p in ("/units", "/monitor")}
    out["/status"] = html.unescape(TestClient(app).get("/status").text)
    return out


def bar(page: str) -> str:
    m = re.search(r'<div class="databar[^>]*>(.*?)</div>', page, re.S)
    assert m, "no data bar"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1)))


def answered(page: str) -> str | None:
    m = re.search(r'id="ehr-reachability" data-answered="(yes|no)"', page)
    return m.group(1) if m else None


def test_bar_says_not_answering_under_the_downtime_banner_while_a_sync_round_retries(
    site: Any, store: Store
) -> None:
    t0 = utcnow() - timedelta(minutes=2)
    # a clean sync round while the EHR answers
    sync_status.round_started(store, "ehr", URL, t0)
    sync_status.record_contact(store, "ehr", URL, answered=True, at=t0 + timedelta(seconds=1))
    sync_status.round_finished(
        store, "ehr", started=t0, finished=t0 + timedelta(seconds=2), ok=True, reachable=True
    )
    monitor_round(store, t0 + timedelta(seconds=3), Health.OK)
    for path, page in pages(site).items():
        assert answered(page) == "yes", path
        assert "EHR answering" in bar(page), path

    # the EHR goes away: the next sync round starts and keeps retrying (it records nothing
    # yet); one monitor round later every page says the EHR is not answering
    sync_status.round_started(store, "ehr", URL, t0 + timedelta(seconds=10))
    monitor_round(store, t0 + timedelta(seconds=12), Health.FAILED)
    for path, page in pages(site).items():
        assert answered(page) == "no", path
        assert "EHR not answering" in bar(page), path
        assert "EHR reachable" not in page, path

    # downtime is declared; the sync's failed requests agree
    sync_status.record_contact(store, "ehr", URL, answered=False, at=t0 + timedelta(seconds=13))
    for k in (14, 16):
        monitor_round(store, t0 + timedelta(seconds=k), Health.FAILED)
    assert current_status(store).state == "downtime"
    for path, page in pages(site).items():
        assert "EHR DOWNTIME" in page, path
        assert answered(page) == "no", path
        assert "EHR reachable" not in page and "EHR answering" not in bar(page), path


def test_bar_agrees_with_recovery_proposed_when_the_sync_round_ends_late(
    site: Any, store: Store
) -> None:
    t0 = utcnow() - timedelta(minutes=2)
    sync_status.round_started(store, "ehr", URL, t0)
    sync_status.record_contact(store, "ehr", URL, answered=False, at=t0 + timedelta(seconds=1))
    for k in (2, 4, 6):
        monitor_round(store, t0 + timedelta(seconds=k), Health.FAILED)
    assert current_status(store).state == "downtime"

    # the EHR comes back: one healthy monitor round, and the pages say it answers, with
    # the downtime going on until an incident commander ends it
    monitor_round(store, t0 + timedelta(seconds=20), Health.OK)
    for path, page in pages(site).items():
        assert "EHR DOWNTIME" in page, path
        assert answered(page) == "yes", path
        assert "until an incident commander ends it" in bar(page), path

    # recovery proposed; the long sync round finishes now, its early searches having
    # failed (reachable=False), its late requests answered
    for k in (22, 24):
        monitor_round(store, t0 + timedelta(seconds=k), Health.OK)
    assert current_status(store).state == "recovering"
    sync_status.record_contact(store, "ehr", URL, answered=True, at=t0 + timedelta(seconds=25))
    sync_status.round_finished(
        store,
        "ehr",
        started=t0,
        finished=t0 + timedelta(seconds=26),
        ok=False,
        reachable=False,
        error="Observation search: failed 8 times",
    )
    for path, page in pages(site).items():
        assert "RECOVERY PROPOSED" in page, path
        assert answered(page) == "yes", path
        assert "recovery proposed" in bar(page), path
        assert "NOT reachable" not in page and "not answering" not in bar(page), path


def test_a_token_endpoint_that_does_not_answer_counts_as_the_last_contact(store: Store) -> None:
    t0 = utcnow() - timedelta(minutes=1)
    sync_status.record_contact(store, "ehr", URL, answered=True, at=t0)
    sync_status.round_started(store, "ehr", URL, t0 + timedelta(seconds=10))
    sync_status.round_finished(
        store,
        "ehr",
        started=t0 + timedelta(seconds=10),
        finished=t0 + timedelta(seconds=11),
        ok=False,
        reachable=False,
    )
    health = sync_status.sync_health(store)
    assert health.reachable is False
    assert health.last_contact_at == t0 + timedelta(seconds=11)


def test_the_newest_observation_wins() -> None:
    t = utcnow()
    old = Reachability(True, t - timedelta(seconds=30), "sync")
    new = Reachability(False, t, "monitor")
    assert latest_observation(old, new) == new
    assert latest_observation(new, old) == new
    assert latest_observation(Reachability(None, None, None), old) == old
    assert latest_observation().answered is None


def test_the_sync_client_reports_every_attempt() -> None:
    answers: list[Any] = [
        httpx.ConnectError("refused"),
        httpx.Response(503),
        httpx.Response(200, json={"resourceType": "Bundle"}),
        httpx.Response(404, json={"resourceType": "Bundle"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    seen: list[bool] = []
    c = FhirClient(
        URL,
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        rate=0,
        policy=RetryPolicy(max_attempts=5),
        on_contact=seen.append,
    )
    c.get_json("Patient")
    with pytest.raises(Exception, match="404"):
        c.get_json("Patient")
    assert seen == [False, False, True, True]


def test_contacts_are_written_on_change_and_at_most_every_few_seconds(store: Store) -> None:
    t = [utcnow()]
    rec = sync_status.ContactRecorder(store, "ehr", URL, every_s=60, clock=lambda: t[0])
    rec(True)
    first = t[0]
    t[0] += timedelta(seconds=1)
    rec(True)  # the same outcome again, soon: not written
    assert sync_status.sync_health(store).last_contact_at == first
    t[0] += timedelta(seconds=1)
    rec(False)  # a change: written at once
    health = sync_status.sync_health(store)
    assert health.reachable is False and health.last_contact_at == t[0]
