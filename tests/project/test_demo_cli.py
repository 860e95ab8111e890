"""The demo's hints work as printed, and `standby demo outage` answers in one sentence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from standby.cli import demo
from standby.cli.main import app
from support.monitor_receivers import WebhookReceiver, free_port


def outage(*args: str) -> object:
    return CliRunner().invoke(app, ["demo", "outage", *args])


def test_outage_without_a_demo_says_so_in_one_line(tmp_path: Path) -> None:
    r = outage("on", "--dir", str(tmp_path))
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "no demo is running" in lines[0], r.output
    assert "Traceback" not in r.output


def test_outage_with_a_demo_that_has_stopped_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text(
        json.dumps({"ehr_admin": f"http://127.0.0.1:{free_port()}"})
    )
    r = outage("on", "--dir", str(tmp_path))
    assert r.exit_code == 1, r.output
    assert len(r.output.strip().splitlines()) == 1 and "no demo is running" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_outage_prints_a_sentence_not_a_dict(tmp_path: Path) -> None:
    with WebhookReceiver() as admin:
        base = admin.url.rsplit("/", 1)[0]
        (tmp_path / "demo.json").write_text(json.dumps({"ehr_admin": base}))
        on = outage("on", "--dir", str(tmp_path))
        off = outage("off", "--dir", str(tmp_path))
    assert on.exit_code == 0 and off.exit_code == 0
    assert "{" not in on.output and "stopped answering" in on.output
    assert "{" not in off.output and "answers again" in off.output


def test_the_hints_name_a_standby_that_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # `standby` is not on the PATH
    cmd = demo.standby_command()
    assert cmd != "standby"
    assert os.access(Path(cmd).resolve(), os.X_OK), cmd
    console = Console(record=True, width=200)
    demo._welcome(console, 8080, "http://ehr", [], "4W", Path("elsewhere"))
    text = console.export_text()
    assert f"{cmd} demo outage on --dir elsewhere" in text
    assert f"{cmd} status --db {Path('elsewhere') / 'standby.db'}" in text
    assert (
        "STANDBY_SOURCE_URL=http://ehr STANDBY_AUTH=smart-backend STANDBY_CLIENT_ID=standby-demo "
        f"STANDBY_PRIVATE_KEY={Path('elsewhere') / 'standby-client.pem'} "
        f"{cmd} recover run --db {Path('elsewhere') / 'standby.db'}"
    ) in text
    assert "demo-data" not in text
