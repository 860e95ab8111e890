"""The replica's bulk load: the cycle collector paused while loading, and the same-rows
floor that `standby bench ingest` measures it against (docs/store.md,
docs/performance.md)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from standby.bench.ingest_floor import same_rows_floor
from standby.store.ingest import ingest_directory, ingest_lines, no_cycle_collection
from standby.store.sqlite import SQLiteStore

_TABLES = ("resource", "idx_token", "idx_string", "idx_date", "idx_ref")


def _lines(n: int, seen: list[bool]) -> Iterator[tuple[bytes, int]]:
    for i in range(n):
        seen.append(gc.isenabled())
        line = b'{"resourceType":"Patient","id":"p%d"}' % i
        yield line, len(line)


def test_the_cycle_collector_is_paused_while_loading_and_resumes(tmp_path: Path) -> None:
    seen: list[bool] = []
    assert gc.isenabled()
    with SQLiteStore(tmp_path / "r.db") as store:
        ingest_lines(store, _lines(5, seen), file="x", max_bytes=10_000, batch_size=2)
    assert seen == [False] * 5
    assert gc.isenabled()


def test_the_cycle_collector_resumes_after_a_failed_load_and_nested_loads() -> None:
    with pytest.raises(RuntimeError), no_cycle_collection():
        with no_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer load still holds it
        raise RuntimeError
    assert gc.isenabled()


def test_a_collector_off_before_the_load_stays_off() -> None:
    gc.disable()
    try:
        with no_cycle_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in _TABLES}
    finally:
        conn.close()


def test_the_same_rows_floor_writes_what_the_ingest_writes(tmp_path: Path) -> None:
    from standby.sim.generate import generate_hospital

    data = tmp_path / "ndjson"
    generate_hospital(4, 5, data, now=datetime(2026, 11, 28, 10, tzinfo=UTC))
    with SQLiteStore(tmp_path / "replica.db") as store:
        report = ingest_directory(store, data)
    same_rows_floor(data, tmp_path / "floor.db")
    replica, floor = _counts(tmp_path / "replica.db"), _counts(tmp_path / "floor.db")
    assert replica == floor
    assert replica["resource"] == report.written > 1000
    assert replica["idx_token"] > replica["resource"]
