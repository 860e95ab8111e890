"""A command that opens a SQLite replica caps SQLite's memory in its process.

Each connection's page cache may grow to 32 MB as the replica grows, and the viewer reads
on a connection per thread: without a cap the viewer's, the sync's and the packets'
memory rose for hours (`standby bench soak`)."""

from __future__ import annotations

from pathlib import Path

from standby.cli.replica import open_replica
from standby.settings import load_settings


def _limit(store: object) -> int:
    with store.read_transaction() as tx:  # type: ignore[attr-defined]
        return int(tx.query("PRAGMA soft_heap_limit")[0][0])


def test_open_replica_caps_sqlite_memory(tmp_path: Path) -> None:
    store = open_replica(load_settings(db=tmp_path / "r.db", db_encryption="off"))
    try:
        assert _limit(store) == 64 * 2**20
    finally:
        with store.read_transaction() as tx:  # the limit is process-wide: undo it
            tx.query("PRAGMA soft_heap_limit = 0")
        store.close()


def test_zero_leaves_sqlite_memory_unlimited(tmp_path: Path) -> None:
    """Even after a replica opened earlier in the same process set a limit (the limit is
    process-wide: CI failed on this when tests ran in the same worker)."""
    earlier = open_replica(load_settings(db=tmp_path / "e.db", db_encryption="off"))
    assert _limit(earlier) == 64 * 2**20
    earlier.close()
    settings = load_settings(db=tmp_path / "r.db", db_encryption="off", sqlite_memory_mb=0)
    store = open_replica(settings)
    try:
        assert _limit(store) == 0
    finally:
        store.close()
