"""Every page reachable from an edge node's navigation answers, as each role uses it, and
the schedule pages say that the node holds only its units' data (docs/edge-nodes.md).

The edge node is made as in the demo: unit 3W copied from a central Standby over real
HTTP. Each role's crawl follows the menu and the links of the pages it reaches (census,
summary, MAR, documentation forms, OR board, clinics, triage, status, audit)."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standby.accounts import users
from standby.api import smart
from standby.clinical.census import units
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.settings import Settings
from standby.store import open_store
from standby.sync.jwks import generate_private_key, jwks, write_private_key
from standby.sync.runner import SyncRunner
from standby.web.app import create_app
from support.edge_nodes import NOW, census_ids, central_store, serve_on
from support.web_site import PASSWORD, login

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.slow

ROLES = ["nurse", "charge-nurse", "physician", "scheduler", "admin"]
NOT_HELD = "not held on this unit's node"


@pytest.fixture(scope="module")
def edge_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from standby.sim.generate import generate_hospital

    d = tmp_path_factory.mktemp("edge-nav")
    generate_hospital(40, 7, d / "hospital", now=NOW)
    central = central_store(d / "hospital", d / "central.db")
    cs = Settings(db=d / "central.db", db_encryption="off")
    key = generate_private_key("ES384")
    write_private_key(key, d / "edge.pem")
    client = smart.add_client(central, name="edge-3w", jwks=jwks(key), scope="system/*.read")
    edge = open_store(db=d / "edge.db")
    try:
        with serve_on(cs, create_app(cs, central), 0) as url:
            es = Settings(
                db=d / "edge.db",
                db_encryption="off",
                source_url=f"{url}/fhir",
                auth="smart-backend",
                client_id=client.client_id,
                private_key=d / "edge.pem",
                sync_units=["3W"],
            )
            runner = SyncRunner(es, edge)
            runner.check_auth()
            runner.seed()
            assert runner.run_round().ok
            runner.close()
        assert census_ids(edge, "3W"), "the synthetic hospital has patients on 3W"
        assert central.search("Appointment", [], count=1).total != 0
        ward = next(u.id for u in units(edge) if u.alias == "3W")
        for role in ROLES:
            users.add_user(edge, role, PASSWORD, role=role, units=[ward])
    finally:
        edge.close()
        central.close()
    yield d / "edge.db"


_LINK = re.compile(r'<a [^>]*href="(/[^"#]*)"')
_SKIP = ("/logout", "/static/", "/fhir", "/login")
FORMS = ("", "/vitals", "/note", "/allergy", "/order", "/dose")


def _shape(href: str) -> str:
    """A page's kind: its path with every id (a segment with a digit) as `*`, so that the
    crawl opens one patient's pages, one case's, not all of them."""
    path = href.split("?")[0]
    return "/".join("*" if re.search(r"\d", seg) else seg for seg in path.split("/"))


def _crawl(client: TestClient, patient: str, ward: str, limit: int = 80) -> dict[str, int]:
    """GET the menu's pages, the status page, a patient's documentation forms and printed
    sheets, and what they link to, breadth first (one page of each kind, up to `limit`);
    the status of each."""
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200, home.text[:500]
    menu = re.search(r'<nav aria-label="Main".*?</nav>', home.text, re.S)
    assert menu, "no menu"
    todo = [
        *_LINK.findall(menu.group(0)),
        "/status",
        *(f"/patients/{patient}/document{f}" for f in FORMS),
        f"/patients/{patient}/print.pdf",
        f"/units/{ward}/print.pdf",
    ]
    seen: dict[str, int] = {}
    shapes: set[str] = set()
    while todo and len(seen) < limit:
        href = todo.pop(0).replace("&amp;", "&")
        if _shape(href) in shapes or href.startswith(_SKIP):
            continue
        shapes.add(_shape(href))
        r = client.get(href, follow_redirects=True)
        seen[href] = r.status_code
        if r.status_code == 200 and "text/html" in r.headers.get("content-type", ""):
            todo.extend(_LINK.findall(r.text))
    return seen


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("declared", [False, True], ids=["before", "in-downtime"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_an_edge_node_answers_for_each_role(
    edge_db: Path, tmp_path: Path, role: str, declared: bool
) -> None:
    db = tmp_path / "edge.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{edge_db}{suffix}").exists():
            shutil.copy(f"{edge_db}{suffix}", f"{db}{suffix}")
    store = open_store(db=db)
    try:
        if declared:  # the documentation forms open
            downtime.declare(store, MonitorConfig(), "ic", NOW, reason="network cut")
        app = create_app(Settings(db=db, db_encryption="off"), store)
        client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
        assert login(client, role, PASSWORD).status_code == 303
        ward = next(u.id for u in units(store) if u.alias == "3W")
        seen = _crawl(client, census_ids(store, "3W")[0], ward)
    finally:
        store.close()
    assert len(seen) > 1, seen
    failed = {href: code for href, code in seen.items() if code >= 500}
    assert not failed, failed
    wrong = {href: code for href, code in seen.items() if code not in (200, 403)}
    assert not wrong, wrong


@pytest.mark.parametrize(
    "address",
    [
        "/schedules/or",
        "/schedules/clinic",
        "/schedules/triage",
        "/schedules/calls",
        "/schedules/rebook",
    ],
)
def test_the_schedule_pages_of_an_edge_node_say_what_it_does_not_hold(
    edge_db: Path, address: str
) -> None:
    store = open_store(db=edge_db)
    try:
        app: Any = create_app(Settings(db=edge_db, db_encryption="off"), store)
        client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
        assert login(client, "scheduler", PASSWORD).status_code == 303
        r = client.get(address)
    finally:
        store.close()
    assert r.status_code == 200, r.text[:2000]
    shown = _text(r.text)
    assert NOT_HELD in shown, shown[:3000]
    if address == "/schedules/rebook":
        assert "may be taken by another unit's case" in shown


def test_a_central_node_schedule_page_does_not_say_it(edge_db: Path, tmp_path: Path) -> None:
    from standby.sync.upstream import CHECKPOINT

    db = tmp_path / "node.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{edge_db}{suffix}").exists():
            shutil.copy(f"{edge_db}{suffix}", f"{db}{suffix}")
    store = open_store(db=db)
    try:
        store.set_checkpoint(CHECKPOINT, "")  # it copies no central node
        app = create_app(Settings(db=db, db_encryption="off"), store)
        client = TestClient(app, follow_redirects=False)
        assert login(client, "scheduler", PASSWORD).status_code == 303
        shown = _text(client.get("/schedules/or?day=2000-01-01").text)
    finally:
        store.close()
    assert NOT_HELD not in shown
    assert "No surgeries scheduled in the EHR for this day." in shown
