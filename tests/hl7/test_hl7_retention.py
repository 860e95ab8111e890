"""The answers to HL7 v2 messages (`hl7_received`, the duplicate check by control id) are
pruned by the retention pass after `hl7_received_retention_days`; a message sent again
after that is applied again and changes nothing (docs/retention.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standby.cli import retention
from standby.clock import instant
from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.settings import load_settings
from standby.store.base import Store
from support import hl7_messages as M
from support.store_engines import durable_store, pg_schema  # noqa: F401 (fixtures)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = load_settings(hl7_received_retention_days=7)


def answered(store: Store) -> set[str]:
    with store.read_transaction() as tx:
        return {str(r[0]) for r in tx.query("SELECT control_id FROM hl7_received")}


def test_old_answers_go_recent_ones_stay_and_a_late_repeat_changes_nothing(
    store: Store,
) -> None:
    writer = FeedWriter(store, Context())
    writer.received_at = lambda: instant(NOW - timedelta(days=10))  # type: ignore[method-assign]
    assert [o.ack_code for o in writer.commit([(M.ADT_A01.encode(), "engine")])] == ["AA"]
    writer.received_at = lambda: instant(NOW - timedelta(days=1))  # type: ignore[method-assign]
    assert [o.ack_code for o in writer.commit([(M.ORU_R01.encode(), "engine")])] == ["AA"]
    before = store.counts_by_type()
    assert answered(store) == {"ADT0001", "LAB00001"}

    done = retention.prune(store, SETTINGS, NOW)
    assert done["HL7 v2 messages answered"] == 1
    assert answered(store) == {"LAB00001"}

    again = writer.commit([(M.ADT_A01.encode(), "engine"), (M.ORU_R01.encode(), "engine")])
    assert [(o.ack_code, o.duplicate) for o in again] == [("AA", False), ("AA", True)]
    assert store.counts_by_type() == before  # applied again: the same versions, held once
    (patient,) = store.iter_type("Patient")
    assert len(store.history("Patient", patient.id)) == 1  # no new version either
