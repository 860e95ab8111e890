"""The monitor's pages in-process (Starlette AppClient), on a minimal app with fake logins."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware

from standby.monitor import downtime, incidents
from standby.monitor.config import MonitorConfig
from standby.monitor.status import current_status
from standby.monitor.timeutil import utcnow
from standby.web import monitor_routes


@dataclass
class FakeUser:
    username: str
    roles: tuple[str, ...]


USERS = {
    "ic": FakeUser("ic.jones", ("incident-commander",)),
    "nurse": FakeUser("nurse.lee", ("clinician",)),
}


class FakeLogin(BaseHTTPMiddleware):
    async def dispatch(self, request: Any, call_next: Any) -> Any:
        who = request.headers.get("x-test-user")
        request.state.user = USERS.get(who) if who else None
        return await call_next(request)


class AppClient:
    """Synchronous calls into the ASGI app through httpx's ASGITransport (no sockets)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)


@pytest.fixture
def client(store: Any) -> AppClient:
    app = Starlette(routes=monitor_routes.routes(), middleware=[Middleware(FakeLogin)])
    app.state.store = store
    return AppClient(app)


def test_status_page_is_public_and_shows_the_commanders_message(
    client: AppClient, store: Any
) -> None:
    r = client.get("/status")
    assert r.status_code == 200 and 'data-state="normal"' in r.text
    downtime.declare(
        store,
        MonitorConfig(),
        "ic.jones",
        utcnow(),
        message="Use the 3rd floor printer for packets",
    )
    r = client.get("/status")
    assert 'data-state="downtime"' in r.text
    assert "Use the 3rd floor printer for packets" in r.text and "What to do" in r.text
    assert client.get("/status.json").json()["state"] == "downtime"


def test_only_an_incident_commander_declares_and_ends(client: AppClient, store: Any) -> None:
    r = client.post("/monitor/declare", data={"reason": "x"}, headers={"x-test-user": "nurse"})
    assert r.status_code == 403 and current_status(store).state == "normal"
    r = client.post(
        "/monitor/declare",
        data={"reason": "planned", "message": "Go to paper"},
        headers={"x-test-user": "ic"},
    )
    assert r.status_code == 303
    s = current_status(store)
    assert s.state == "downtime" and s.message == "Go to paper"
    assert r.headers["location"] == f"/monitor/incidents/{s.incident_id}"
    page = client.get(r.headers["location"], headers={"x-test-user": "ic"})
    assert 'id="downtime-banner"' in page.text and 'id="confirm-end"' in page.text
    nurse_page = client.get(r.headers["location"], headers={"x-test-user": "nurse"})
    assert 'id="confirm-end"' not in nurse_page.text
    assert client.post("/monitor/end", headers={"x-test-user": "nurse"}).status_code == 403
    client.post("/monitor/end", data={"message": "EHR back"}, headers={"x-test-user": "ic"})
    assert current_status(store).state == "normal"


def test_broadcast_reaches_every_page_and_log_and_checklist_work(
    client: AppClient, store: Any
) -> None:
    out = downtime.declare(store, MonitorConfig(), "ic.jones", utcnow())
    iid = out.declared
    client.post(
        "/monitor/broadcast",
        data={"text": "Huddle at 14:00 in the lobby"},
        headers={"x-test-user": "ic"},
    )
    page = client.get("/monitor", headers={"x-test-user": "nurse"})
    assert "Huddle at 14:00 in the lobby" in page.text and 'id="broadcast"' in page.text
    r = client.post(
        f"/monitor/incidents/{iid}/log",
        data={"text": "4W on paper"},
        headers={"x-test-user": "nurse"},
    )
    assert r.status_code == 303
    client.post(
        f"/monitor/incidents/{iid}/checklist/0",
        data={"done": "1"},
        headers={"x-test-user": "nurse"},
    )
    client.post(
        f"/monitor/incidents/{iid}/checklist",
        data={"role": "logistics", "item": "Spare printer"},
        headers={"x-test-user": "nurse"},
    )
    items = incidents.checklist(store, iid)
    assert items[0].done and items[0].done_by == "nurse.lee"
    assert items[-1].item == "Spare printer"
    md = client.get(f"/monitor/incidents/{iid}/report.md").text
    assert "4W on paper" in md and "Huddle at 14:00" in md
    pdf = client.get(f"/monitor/incidents/{iid}/report.pdf")
    assert pdf.content.startswith(b"%PDF")


def test_drill_label_on_pages(client: AppClient, store: Any) -> None:
    client.post("/monitor/drill/start", headers={"x-test-user": "ic"})
    assert "DRILL" in client.get("/status").text
    downtime.declare(store, MonitorConfig(), "ic.jones", utcnow())
    page = client.get("/monitor", headers={"x-test-user": "nurse"})
    assert 'data-drill="true"' in page.text and ">DRILL<" in page.text
    assert "DRILL" in client.get("/status").text
