"""`standby status` and `standby monitor status` say what is true: no replica where there is
none (and create none), a monitor that never ran, a round still running, and whether the
EHR answers as last observed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.clock import instant
from standby.clock import now as utcnow
from standby.monitor import downtime, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health
from standby.store import open_store
from standby.sync import status as sync_status

URL = "http://ehr.test/fhir"


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("STANDBY_DB", "STANDBY_DATABASE_URL", "STANDBY_SOURCE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", [["status"], ["monitor", "status"]])
def test_no_replica_is_said_and_none_is_created(tmp_path: Path, command: list[str]) -> None:
    r = run(*command)
    assert r.exit_code == 1
    assert "no replica at standby.db" in r.output and "--db" in r.output
    assert "NORMAL" not in r.output
    assert not (tmp_path / "standby.db").exists()


def test_a_monitor_that_never_ran_says_so(tmp_path: Path) -> None:
    open_store(db=tmp_path / "r.db").close()
    r = run("monitor", "status", "--db", str(tmp_path / "r.db"))
    assert r.exit_code == 0 and "never run" in r.output
    r = run("status", "--db", str(tmp_path / "r.db"))
    assert "monitor: never run" in r.output


def test_status_during_an_outage_while_a_round_retries(tmp_path: Path) -> None:
    t0 = utcnow() - timedelta(minutes=1)
    with open_store(db=tmp_path / "r.db") as store:
        sync_status.round_started(store, "ehr", URL, t0)
        sync_status.record_contact(store, "ehr", URL, answered=True, at=t0)
        sync_status.round_finished(
            store, "ehr", started=t0, finished=t0 + timedelta(seconds=1), ok=True, reachable=True
        )
        later = t0 + timedelta(seconds=10)
        sync_status.round_started(store, "ehr", URL, later)  # retrying: not finished
        for k in range(3):
            at = later + timedelta(seconds=2 * k + 1)
            results = [ProbeResult("fhir-metadata", "fhir-metadata", at, Health.FAILED, None, "x")]
            downtime.apply_round(store, MonitorConfig(), results, probes.round_health(results, at))
    out = run("status", "--db", str(tmp_path / "r.db")).output
    assert "EHR answering: NO" in out and "seen by the monitor's probes" in out
    assert "EHR DOWNTIME" in out
    assert f"started {instant(later)}, still running" in out
    assert f"{instant(later)} → " not in out
