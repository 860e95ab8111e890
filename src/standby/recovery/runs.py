"""Back-entry's runs (table `recovery_runs`): which node ran it, when it started and
ended, and what it did (docs/recovery.md#state)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from standby.clock import instant
from standby.recovery import schema
from standby.store.base import Store


def start_run(store: Store, run_id: str, node: str, now: datetime, *, drill: bool) -> None:
    schema.ensure(store)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO recovery_runs (run_id, node, started_at, drill) VALUES (?, ?, ?, ?)",
            (run_id, node, instant(now), 1 if drill else 0),
        )


def finish_run(store: Store, run_id: str, now: datetime, summary: Mapping[str, Any]) -> None:
    schema.ensure(store)
    with store.transaction() as db:
        db.execute(
            "UPDATE recovery_runs SET finished_at = ?, summary = ? WHERE run_id = ?",
            (instant(now), orjson.dumps(dict(summary)).decode(), run_id),
        )
