"""Every instant Standby writes into the replica database is in the one stored form of
`standby.clock` (docs/time.md), on both engines.

The writers run for real (a sync round's records, monitor rounds that declare and end a
downtime, logins, a session, an audit line, a break-the-glass access, a quarantined line),
with clocks in a zone other than UTC. The columns are found from the database's own
catalogue, so a column added later is checked too: a column whose name says it holds an
instant (`at`, `*_at`, `*_started`, `*_finished`, `*_seen`) must hold only the stored form
and must have been written here; any other text column that holds something shaped like
an instant must hold the stored form as well.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from standby.accounts import repository
from standby.accounts import schema as web_schema
from standby.accounts import users as accounts
from standby.accounts.audit_archive import archive, read_key
from standby.accounts.records import AuditEvent
from standby.clock import PATTERN, parse_instant
from standby.clock import instant as clock_instant
from standby.monitor import downtime, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.notify.messages import Notification
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.monitor.status import current_status
from standby.reports.regeneration import generate_all
from standby.settings import Settings
from standby.store.base import Store
from standby.sync import checkpoints, status
from standby.web.app import create_app
from support.store_engines import DURABLE_ENGINES, make_store

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

STORED = re.compile(PATTERN)
INSTANT_NAME = re.compile(r"at|.*_at|.*_started|.*_finished|.*_seen")
INSTANT_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}.*")
# Times that are FHIR data, kept as their source wrote them (docs/time.md).
FHIR_DATA = {
    ("resource", "last_updated"),  # the resource's meta.lastUpdated
    ("resource_history", "last_updated"),
    ("checkpoint", "value"),  # the source's own instants, sent back as _lastUpdated
}
JSON_COLUMNS = {("monitor_state", "body")}
EASTERN = ZoneInfo("America/New_York")


@pytest.fixture(params=DURABLE_ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A fresh database of each engine that keeps one (the in-memory store holds no file)."""
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    try:
        yield s
    finally:
        s.close()


PASSWORD = "correct horse battery"


def columns(store: Store) -> list[tuple[str, str]]:
    """(table, column) of every table in the replica database, from its catalogue."""
    with store.read_transaction() as tx:
        if store.engine == "sqlite":  # type: ignore[attr-defined]
            tables = [
                t
                for (t,) in tx.query(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return [(t, str(r[1])) for t in tables for r in tx.query(f"PRAGMA table_info({t})")]
        rows = tx.query(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    return [(str(t), str(c)) for t, c in rows]


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def misfits(store: Store) -> tuple[list[str], list[str]]:
    """(values not in the stored form, instant columns that no writer filled)."""
    bad: list[str] = []
    empty: list[str] = []
    for table, column in columns(store):
        if (table, column) in FHIR_DATA:
            continue
        with store.read_transaction() as tx:
            values = [v for (v,) in tx.query(f"SELECT {column} FROM {table}") if v is not None]
        if (table, column) in JSON_COLUMNS:
            values = [s for v in values for s in strings_in(orjson.loads(v))]
        named = INSTANT_NAME.fullmatch(column) is not None
        if named and not values:
            empty.append(f"{table}.{column}")
        for v in values:
            if not isinstance(v, str) or STORED.fullmatch(v):
                continue
            if named or INSTANT_SHAPE.fullmatch(v):
                bad.append(f"{table}.{column} = {v!r}")
    return bad, empty


class FakeEmail:
    name = "email"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, notification: Notification, recipient: str) -> None:
        self.sent.append(recipient)


def run_sync_writers(store: Store, t: datetime) -> None:
    status.round_started(store, "ehr", "http://ehr.test/fhir", t)
    checkpoints.save_census(store, "ehr", {"p1": "inpatient"}, [], t)
    store.set_checkpoint("sync:ehr:type:Patient", "2026-11-28T21:59:59.000-05:00")
    status.record_error(store, "ehr", "search", "Observation search: HTTP 500")
    status.round_finished(
        store, "ehr", started=t, finished=t + timedelta(seconds=2), ok=True, reachable=True
    )


def run_monitor_writers(store: Store, t: datetime) -> None:
    cfg = MonitorConfig(recipients=("ic@hospital.test",))
    for k in range(3):  # three failed rounds declare downtime
        at = t + timedelta(seconds=10 * k)
        results = [ProbeResult("fhir-metadata", "http", at, Health.FAILED, None, "HTTP 503")]
        downtime.apply_round(store, cfg, results, probes.round_health(results, at))
    incident = current_status(store).incident_id
    assert incident is not None
    downtime.run_packets(store, lambda banner, now: "1 unit", incident, False, lambda: t)
    incidents.set_item_done(store, incident, 0, True, "ic.jones", t + timedelta(minutes=1))
    with store.transaction() as tx:
        incidents.set_first(tx, incident, "first_documentation_at", t + timedelta(minutes=2))
    reminders = MonitorConfig(recipients=("ic@hospital.test",), reminder_minutes=1)
    assert downtime.queue_reminder(store, reminders, t + timedelta(minutes=5))
    assert outbox.deliver_due(store, {"email": FakeEmail()}, now=lambda: t + timedelta(minutes=6))
    downtime.confirm_end(store, cfg, "ic.jones", t + timedelta(hours=1))


def run_web_writers(store: Store, tmp_path: Path, t: datetime, monkeypatch: Any) -> None:
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy"))
    when = [t]
    app = create_app(
        Settings(db=tmp_path / "unused.db", timezone="America/New_York"),
        store,
        clock=lambda: when[0],
    )
    accounts.add_user(store, "nurse.a", PASSWORD, role="nurse", units=["4W"], now=t)
    store.upsert(
        b'{"resourceType":"Patient","id":"p1","meta":{"versionId":"3",'
        b'"lastUpdated":"2026-11-29T04:00:00.5+01:00"},"name":[{"family":"Okafor"}]}'
    )
    c = TestClient(app, client=("10.0.0.1", 50000), follow_redirects=False)

    def login(username: str, password: str) -> int:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        form = {"username": username, "password": password, "csrf_token": token.group(1)}
        return c.post("/login", data={**form, "next": "/"}).status_code

    assert login("nobody", "wrong password") != 303  # kept: a login failure
    assert login("nurse.a", PASSWORD) == 303
    when[0] = t + timedelta(minutes=1)  # the session's last_seen moves
    page = c.get("/patients/p1/break-glass")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = c.post(
        "/patients/p1/break-glass",
        data={"reason": "covering 4E tonight, patient deteriorating", "csrf_token": token.group(1)},
    )
    assert r.status_code == 303, r.text
    assert c.get("/patients/p1").status_code == 200


def run_journal_writers(store: Store, t: datetime) -> None:
    from standby.journal import numbers
    from standby.journal import repository as journal
    from standby.journal.entries import Kind
    from support.journal_entries import entry

    journal.append(store, [entry(Kind.NOTE, now=t, minutes_ago=5)])
    # a transfer: where the journal puts the patient (`journal_placements`)
    transfer = entry(Kind.TRANSFER, now=t, minutes_ago=4, payload={"location_id": "4W-401-A"})
    journal.append(store, [transfer])
    numbers.allocate(store, "mrn", numbers.parse_range("DT-0001..DT-0009"), "node", t)


def run_api_writers(store: Store) -> None:
    from standby.api import smart
    from standby.sync.jwks import generate_private_key, jwks

    key = generate_private_key("RS384")
    client = smart.add_client(store, name="a client", jwks=jwks(key), scope="system/*.rs")
    smart.remove_client(store, client.client_id)


def test_every_instant_column_holds_the_stored_form(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = datetime(2026, 11, 28, 22, 0, 0, 120000, tzinfo=EASTERN)
    store.quarantine(source="ingest", reason="not JSON", raw=b"{", file="p.ndjson", line=3)
    run_sync_writers(store, t)
    run_monitor_writers(store, t)
    web_schema.ensure(store)
    repository.append_audit(  # a day old: archived below, which fills web_audit_chain's times
        store,
        AuditEvent(
            clock_instant(t - timedelta(days=1)), "nurse.a", "nurse", "view", "p1", "/", "-"
        ),
    )
    run_web_writers(store, tmp_path, t, monkeypatch)
    run_journal_writers(store, t)
    run_api_writers(store)
    key = read_key(tmp_path / "audit.key", create=True)
    before = clock_instant(t - timedelta(hours=1))
    assert archive(store, before=before, out_dir=tmp_path / "archive", key=key) is not None
    bad, empty = misfits(store)
    assert bad == [], "instants not in the stored form"
    assert empty == [], "instant columns no writer filled here: exercise their writers"
    with store.read_transaction() as tx:
        (declared,) = tx.query("SELECT declared_at FROM monitor_incidents")[0]
    assert parse_instant(declared) == t + timedelta(seconds=20)


def test_the_packets_manifest_holds_the_stored_form(store: Store, tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, 22, 0, tzinfo=EASTERN)
    man = generate_all(
        store, tmp_path / "out", now, data_as_of=now - timedelta(minutes=5), schedules=False
    )
    assert STORED.fullmatch(man.generated_at) and parse_instant(man.generated_at) == now
    assert man.data_as_of and STORED.fullmatch(man.data_as_of)
    written = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())
    assert (written["generated_at"], written["data_as_of"]) == (man.generated_at, man.data_as_of)
