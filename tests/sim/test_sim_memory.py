"""The simulated EHR stays the same size however long it runs: its change log is bounded
and SQLite's page caches in its process share one cap (docs/retention.md)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from standby.sim.server import feed as feed_module
from standby.sim.server.feed import Feed


def test_the_change_log_keeps_only_the_latest_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from standby.sim.generate import generate_hospital
    from standby.sim.server import load_store

    start = datetime(2026, 11, 30, 10, tzinfo=UTC)
    generate_hospital(20, 7, tmp_path, now=start)
    store = load_store(tmp_path)
    monkeypatch.setattr(feed_module, "LOG_MAX", 5)
    feed = Feed(store, rate=0, seed=3)
    written = []
    for i in range(4):
        written += feed.step(4, start + timedelta(minutes=i))
    log = feed.log_since(None)
    assert len(written) > 5 and log == written[-5:]
    store.close()


def test_the_servers_process_caps_sqlite_memory(tmp_path: Path) -> None:
    """Run where the limit cannot reach the test's own process (it is process-wide)."""
    code = (
        "import sys; from pathlib import Path\n"
        "from support.sim_server_support import small_store\n"
        "from standby.sim.server.ehr_store import limit_sqlite_memory\n"
        "store = small_store(Path(sys.argv[1]))\n"
        "limit_sqlite_memory(store, 48)\n"
        "other = small_store(Path(sys.argv[2]))\n"
        "with other.read_transaction() as tx:\n"
        "    print(tx.query('PRAGMA soft_heap_limit')[0][0])\n"
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tests = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(tests), "STANDBY_DB_ENCRYPTION": "off", "PATH": ""},
    )
    assert int(out.stdout.strip()) == 48 * 2**20  # every connection of the process sees it
