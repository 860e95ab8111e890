"""`standby report` end to end on a SQLite replica (docs/cli.md#standby-report)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli.main import app


@pytest.fixture
def replica(hospital_db) -> Path:
    return hospital_db


def test_report_writes_a_unit_and_its_manifest(replica, tmp_path):
    out = tmp_path / "packets"
    result = CliRunner().invoke(
        app,
        ["report", "--db", str(replica), "--out", str(out), "--unit", "ICU", "--banner", "DRILL"],
    )
    assert result.exit_code == 0, result.output
    assert "packets for 1 unit(s)" in result.output
    man = json.loads((out / "manifest.json").read_text())
    assert [u["unit"] for u in man["units"]] == ["ICU"]
    assert man["banner"] == "DRILL" and man["data_as_of"]
    for name in ("census.pdf", "mar.pdf", "packets.pdf", "forms.pdf", "labels.pdf"):
        assert (out / "ICU" / name).stat().st_size > 0


def test_report_print_sends_census_and_mars_to_lp(replica, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lp.log"
    (bin_dir / "lp").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "lp").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--db",
            str(replica),
            "--out",
            str(tmp_path / "p"),
            "--unit",
            "ICU",
            "--print",
            "--printer",
            "ward-printer",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = log.read_text().splitlines()
    assert [line.split()[:2] for line in lines] == [["-d", "ward-printer"]] * 2
    assert lines[0].endswith("ICU/census.pdf") and lines[1].endswith("ICU/mar.pdf")


def test_report_help_documents_the_options():
    result = CliRunner().invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    for opt in (
        "--out",
        "--unit",
        "--watch",
        "--interval-minutes",
        "--keep",
        "--print",
        "--printer",
        "--banner",
    ):
        assert opt in result.output
