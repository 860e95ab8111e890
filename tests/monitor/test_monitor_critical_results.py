"""A critical result that arrives by HL7 v2 feed while the EHR is down is noticed to the
patient's unit through the monitor's outbox (real SQLite replica, the real feed writer):
the unit's own recipients, once per result, never the patient's name; nothing in normal
operation or for a result that is not critical."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from standby.hl7 import synthetic
from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.monitor.critical_results import is_critical, notify_critical_results
from standby.monitor.notify import outbox
from standby.store.sqlite import SQLiteStore

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
UNIT_5N = "loc-5n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "replica.db")
    yield s
    s.close()


def _writer(store: SQLiteStore, cfg: MonitorConfig) -> FeedWriter:
    return FeedWriter(
        store,
        Context(),
        on_committed=lambda sender, res: notify_critical_results(store, cfg, res, sender, T0),
    )


def _cfg() -> MonitorConfig:
    return MonitorConfig(
        recipients=("everyone@hospital.example",),
        event_recipients={
            f"critical-result:{UNIT_5N}": ["charge.5n@hospital.example"],
        },
    )


def test_a_critical_potassium_in_downtime_is_noticed_to_its_unit_once(store: SQLiteStore) -> None:
    cfg = _cfg()
    writer = _writer(store, cfg)
    writer.commit([(synthetic.admit(3, T0), "mllp://adt")])
    downtime.declare(store, cfg, "ic", T0 + timedelta(minutes=5))
    declared = {r.message_id for r in outbox.rows(store)}
    critical = synthetic.result(1, 3, T0 + timedelta(minutes=10), potassium=6.9)
    normal = synthetic.result(2, 3, T0 + timedelta(minutes=11), potassium=4.0)
    writer.commit([(critical, "mllp://lab"), (normal, "mllp://lab")])
    writer.commit([(critical, "mllp://lab")])  # the engine sends it again: one notice
    notices = [r for r in outbox.rows(store) if r.message_id not in declared]
    assert [(r.event, r.recipient) for r in notices] == [
        ("critical-result", "charge.5n@hospital.example")
    ]
    with store.read_transaction() as tx:
        subject, body = tx.query(
            "SELECT subject, body FROM monitor_outbox WHERE message_id = ?",
            (notices[0].message_id,),
        )[0]
    assert "CRITICAL" in subject and "5N" in subject
    assert "Potassium, critical high" in body and "LAB^SGH" in body
    assert "6.9" not in subject + body  # the value is in the viewer, behind its login
    assert "received during downtime — not seen in the EHR" in body
    assert "SYNTH3" not in subject + body and str(synthetic.MRN_BASE + 3) not in subject + body


def test_no_notice_in_normal_operation(store: SQLiteStore) -> None:
    cfg = _cfg()
    writer = _writer(store, cfg)
    writer.commit([(synthetic.admit(3, T0), "mllp://adt")])
    writer.commit([(synthetic.result(1, 3, T0, potassium=6.9), "mllp://lab")])
    assert outbox.rows(store) == []


def test_critical_means_hh_ll_or_aa() -> None:
    def obs(code: str) -> dict[str, object]:
        return {"interpretation": [{"coding": [{"code": code}]}]}

    assert [is_critical(obs(c)) for c in ("HH", "LL", "AA", "H", "L", "N")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
