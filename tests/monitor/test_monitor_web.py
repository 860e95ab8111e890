"""The monitor's pages inside the viewer's app, in-process: roles, CSRF, broadcasts, drills."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from standby.clock import now as utcnow
from standby.monitor import downtime, incidents
from standby.monitor.config import MonitorConfig
from standby.monitor.status import current_status
from support.monitor_site import PASSWORD, csrf_of

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class User:
    """A logged-in browser: keeps the session cookie and the CSRF token of the session."""

    def __init__(self, app: Any, username: str) -> None:
        self.c = TestClient(app, follow_redirects=False)
        page = self.c.get("/login")
        r = self.c.post(
            "/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/",
            },
        )
        assert r.status_code == 303, r.text
        self.csrf = csrf_of(self.c.get("/monitor").text)

    def get(self, url: str) -> Any:
        return self.c.get(url)

    def post(self, url: str, data: dict[str, str] | None = None) -> Any:
        return self.c.post(url, data={**(data or {}), "csrf_token": self.csrf})


@pytest.fixture
def ic(site: Any) -> User:
    return User(site, "ic.jones")


@pytest.fixture
def nurse(site: Any) -> User:
    return User(site, "nurse.lee")


def test_status_json_is_public(site: Any, store: Any) -> None:
    anonymous = TestClient(site, follow_redirects=False)
    assert anonymous.get("/monitor").status_code in (302, 303)  # login required
    assert anonymous.get("/status.json").json()["state"] == "normal"
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow(), message="Use printer 3")
    j = anonymous.get("/status.json").json()
    assert (j["state"], j["message"]) == ("downtime", "Use printer 3")


def test_public_status_page_shows_downtime_without_staff_broadcasts(site: Any, store: Any) -> None:
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow(), message="Public note")
    downtime.post_message(store, "ic.jones", utcnow(), "Staff only: huddle", public=False)
    page = TestClient(site, follow_redirects=False).get("/status")
    assert page.status_code == 200
    assert 'id="downtime-banner"' in page.text and "Public note" in page.text
    assert "Staff only: huddle" not in page.text


def test_only_an_incident_commander_declares_and_ends(ic: User, nurse: User, store: Any) -> None:
    assert nurse.post("/monitor/declare", {"reason": "x"}).status_code == 403
    assert current_status(store).state == "normal"
    assert 'id="declare"' not in nurse.get("/monitor").text
    r = ic.post("/monitor/declare", {"reason": "planned", "message": "Go to paper"})
    assert r.status_code == 303
    s = current_status(store)
    assert s.state == "downtime" and s.message == "Go to paper"
    assert r.headers["location"] == f"/monitor/incidents/{s.incident_id}"
    page = ic.get(r.headers["location"])
    assert 'id="downtime-banner"' in page.text and 'id="confirm-end"' in page.text
    assert 'id="confirm-end"' not in nurse.get(r.headers["location"]).text
    assert nurse.post("/monitor/end").status_code == 403
    ic.post("/monitor/end", {"message": "EHR back", "confirm": "1"})
    assert current_status(store).state == "normal"
    (inc,) = incidents.recent(store)
    assert (inc.declared_by, inc.ended_by) == ("ic.jones", "ic.jones")


def test_a_post_without_the_csrf_token_is_refused(ic: User, store: Any) -> None:
    r = ic.c.post("/monitor/declare", data={"reason": "x"})
    assert r.status_code == 403 and current_status(store).state == "normal"


def test_broadcast_reaches_every_page_and_log_and_checklist_work(
    ic: User, nurse: User, store: Any
) -> None:
    out = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow())
    iid = out.declared
    ic.post("/monitor/broadcast", {"text": "Huddle at 14:00 in the lobby"})
    for path in ("/monitor", f"/monitor/incidents/{iid}", "/status"):
        page = nurse.get(path)
        assert "Huddle at 14:00 in the lobby" in page.text and 'id="broadcast"' in page.text
    assert nurse.post(f"/monitor/incidents/{iid}/log", {"text": "4W on paper"}).status_code == 303
    nurse.post(f"/monitor/incidents/{iid}/checklist/0", {"done": "1"})
    nurse.post(
        f"/monitor/incidents/{iid}/checklist", {"role": "logistics", "item": "Spare printer"}
    )
    items = incidents.checklist(store, iid)
    assert items[0].done and items[0].done_by == "nurse.lee"
    assert items[-1].item == "Spare printer"
    md = nurse.get(f"/monitor/incidents/{iid}/report.md").text
    assert "4W on paper" in md and "Huddle at 14:00" in md
    assert nurse.get(f"/monitor/incidents/{iid}/report.pdf").content.startswith(b"%PDF")


def test_drill_label_on_pages(ic: User, nurse: User, store: Any) -> None:
    ic.post("/monitor/drill/start")
    assert current_status(store).drill
    assert "DRILL" in nurse.get("/monitor").text
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow())
    page = nurse.get(f"/monitor/incidents/{current_status(store).incident_id}")
    assert 'data-drill="true"' in page.text and ">DRILL<" in page.text
    assert "DRILL" in TestClient(nurse.c.app).get("/status").text


def test_status_page_and_json_carry_no_patient_data(site: Any, store: Any) -> None:
    import orjson

    patient = {
        "resourceType": "Patient",
        "id": "p-zq",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-28T10:00:00Z"},
        "identifier": [
            {"system": "https://standby.example.org/fhir/sid/mrn", "value": "MRN-778899"}
        ],
        "name": [{"family": "Quarrington", "given": ["Zebediah"]}],
        "birthDate": "1941-02-03",
    }
    store.upsert(orjson.dumps(patient))
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow(), message="Paper MAR")
    anonymous = TestClient(site, follow_redirects=False)
    for path in ("/status", "/status.json"):
        text = anonymous.get(path).text
        assert "Paper MAR" in text
        for secret in ("Quarrington", "Zebediah", "MRN-778899", "1941-02-03", "p-zq"):
            assert secret not in text, (path, secret)
