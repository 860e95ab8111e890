"""`standby demo --setup-only` builds the whole chain on a small hospital: generator →
simulated EHR with SMART auth → bulk-export seed → census sync → demo accounts."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.store import open_store


@pytest.mark.slow
def test_demo_setup_seeds_the_replica_through_the_simulated_ehr(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--beds", "20", "--dir", str(tmp_path), "--ehr-port", "0", "--setup-only"],
    )
    assert result.exit_code == 0, result.output
    assert "reachable:    yes" in result.output
    source = {p.name: p.read_bytes().count(b"\n") for p in (tmp_path / "ehr").glob("*.ndjson")}
    with open_store(db=tmp_path / "standby.db") as store:
        counts = store.counts_by_type()
        for name, lines in source.items():
            # the live change feed may have added more by the time of the sync round
            assert counts.get(name.removesuffix(".ndjson"), 0) >= lines, name
        with store.read_transaction() as tx:
            users = {row[0] for row in tx.query("SELECT username FROM web_users")}
    assert {"nurse", "physician", "commander", "admin"} <= users
