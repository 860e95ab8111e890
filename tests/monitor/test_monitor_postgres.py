"""The monitor's tables and flow on PostgreSQL (a throwaway database per test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from standby.clock import now as utcnow
from standby.monitor import after_action, downtime, incidents
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.status import current_status

URL = os.environ.get("STANDBY_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="STANDBY_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def pg_store() -> Iterator[Any]:
    import psycopg

    from standby.store import open_store

    assert URL
    name = f"monitor_{secrets.token_hex(4)}"
    with psycopg.connect(URL, autocommit=True) as c:  # fails (not skips) when unreachable
        c.execute(f"CREATE DATABASE {name}")
    store = open_store(database_url=URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(URL, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")


def test_declare_log_checklist_reminder_end_on_postgres(pg_store: Any) -> None:
    cfg = MonitorConfig(recipients=("a@hospital.test",), reminder_minutes=0.0001)
    out = downtime.declare(pg_store, cfg, "ic", utcnow(), message="m")
    assert out.declared and current_status(pg_store).state == "downtime"
    incidents.add_log_entry(pg_store, out.declared, utcnow(), "nurse", "4W on paper")
    incidents.edit_item(pg_store, out.declared, None, "logistics", "printer", "n", utcnow())
    assert downtime.queue_reminder(pg_store, cfg, utcnow())
    downtime.confirm_end(pg_store, cfg, "ic", utcnow())
    assert current_status(pg_store).state == "normal"
    assert [r.event for r in outbox.rows(pg_store)] == ["declared", "reminder", "ended"]
    md = after_action.markdown(after_action.build(pg_store, out.declared))
    assert "4W on paper" in md and "printer" in md
