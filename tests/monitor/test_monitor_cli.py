"""`standby monitor ...` commands on a replica file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from standby.cli import monitor as cli_monitor
from standby.cli.main import app
from standby.settings import Settings
from support.monitor_site import open_store


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "replica.db"
    stores: dict[str, Any] = {}

    def opener(settings: Any) -> Any:
        return stores.setdefault(str(settings.db), open_store(Path(settings.db)))

    monkeypatch.setattr(cli_monitor, "open_replica", opener)
    monkeypatch.delenv("STANDBY_SOURCE_URL", raising=False)
    opener(Settings(db=path))  # the replica exists (`status` does not create one)
    return path


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, ["monitor", *args])
    return result


def test_declare_status_broadcast_log_end_report(db: Path, tmp_path: Path) -> None:
    d = ["--db", str(db)]
    assert "NORMAL" in run("status", *d).output
    r = run(
        "declare",
        "--by",
        "ic.jones",
        "--reason",
        "planned upgrade",
        "--message",
        "Paper from 02:00",
        *d,
    )
    assert r.exit_code == 0, r.output
    incident = r.output.split("incident ")[1].split()[0]
    again = run("declare", "--by", "ic.jones", *d)
    assert again.exit_code == 1 and "already declared" in again.output
    status = orjson.loads(run("status", "--json", *d).output)
    assert (status["state"], status["message"], status["incident_id"]) == (
        "downtime",
        "Paper from 02:00",
        incident,
    )
    assert run("broadcast", "Huddle now", "--by", "ic.jones", *d).exit_code == 0
    assert run("log", incident, "Vendor ticket 4411", "--by", "it.kim", *d).exit_code == 0
    assert run("end", "--by", "ic.jones", "--message", "back", *d).exit_code == 0
    assert run("end", "--by", "ic.jones", *d).exit_code == 1
    out = tmp_path / "aar.md"
    assert run("report", incident, "--out", str(out), *d).exit_code == 0
    text = out.read_text()
    assert "planned upgrade" in text and "Vendor ticket 4411" in text
    pdf = tmp_path / "aar.pdf"
    run("report", incident, "--out", str(pdf), *d)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert incident in run("incidents", *d).output


def test_drill_from_the_command_line(db: Path) -> None:
    d = ["--db", str(db)]
    assert run("drill", "start", "--by", "ic.jones", *d).exit_code == 0
    assert run("drill", "start", "--by", "ic.jones", *d).exit_code == 1
    for _ in range(3):  # no source: the drill's simulated outage is what the rounds see
        assert run("run", "--once", *d).exit_code == 0
    assert "DRILL — EHR DOWNTIME" in run("status", *d).output
    report = run("drill", "report", *d)
    assert "time to detection" in report.output
    assert "not available yet" in report.output
    assert run("drill", "cancel", "--by", "ic", *d).exit_code == 1  # already declared


def test_the_after_action_report_carries_the_audit_chain_head(db: Path, tmp_path: Path) -> None:
    from standby.accounts import audit_anchors, repository, schema
    from standby.accounts.records import AuditEvent

    store = open_store(db)
    schema.ensure(store)
    repository.append_audit(
        store, AuditEvent("2026-11-30T01:00:00.000000Z", "ic", "admin", "login", None, "/", "-")
    )
    d = ["--db", str(db)]
    r = run("declare", "--by", "ic.jones", "--reason", "test", *d)
    incident = r.output.split("incident ")[1].split()[0]
    out = tmp_path / "aar.md"
    assert run("report", incident, "--out", str(out), *d).exit_code == 0
    row_id, h = audit_anchors.head(store)
    store.close()
    assert f"| Audit chain head when this report was made | line {row_id}, sha256 {h} |" in (
        out.read_text()
    )
