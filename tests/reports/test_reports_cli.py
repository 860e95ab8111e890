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
        assert (out / "loc-icu" / name).stat().st_size > 0


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
    assert lines[0].endswith("loc-icu/census.pdf") and lines[1].endswith("loc-icu/mar.pdf")


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


def _replica_in_downtime(replica: Path, tmp_path: Path, *, drill: bool = False) -> Path:
    """A copy of the replica with a downtime declared (a drill's when `drill`)."""
    import shutil

    from standby.clock import now as utcnow
    from standby.monitor import downtime, drills
    from standby.monitor.config import MonitorConfig
    from standby.store import open_store

    db = tmp_path / "downtime.db"
    shutil.copy(replica, db)
    store = open_store(db=db)
    try:
        if drill:
            drills.start(store, "ic", utcnow())
        downtime.declare(store, MonitorConfig(), "ic", utcnow(), reason="EHR down")
    finally:
        store.close()
    return db


def test_report_during_a_downtime_carries_the_downtime_banner(replica, tmp_path, monkeypatch):
    from standby.reports import regeneration

    seen: list[str | None] = []
    monkeypatch.setattr(
        regeneration,
        "generate_all",
        lambda *a, banner, **kw: seen.append(banner) or regeneration.Manifest("", None, banner),
    )
    db = _replica_in_downtime(replica, tmp_path)
    for d in (db, replica):
        result = CliRunner().invoke(app, ["report", "--db", str(d), "--out", str(tmp_path / "p")])
        assert result.exit_code == 0, result.output
    assert seen == ["DOWNTIME", None]


def test_report_watch_reads_the_downtime_banner_at_each_run(replica, tmp_path, monkeypatch):
    from standby.reports import regeneration

    db = _replica_in_downtime(replica, tmp_path, drill=True)
    seen: list[str | None] = []
    monkeypatch.setattr(regeneration, "run_forever", lambda *a, banner, **kw: seen.append(banner()))
    result = CliRunner().invoke(
        app, ["report", "--db", str(db), "--out", str(tmp_path / "p"), "--watch"]
    )
    assert result.exit_code == 0, result.output
    assert seen == ["DRILL"]


def test_the_demos_packet_part_carries_the_downtime_banner(replica, tmp_path, monkeypatch):
    """The demo's packets part is `standby report --watch` (its own process): in a real
    downtime (not a drill) its runs carry the DOWNTIME banner."""
    from standby.reports import regeneration

    seen: list[str | None] = []
    monkeypatch.setattr(regeneration, "run_forever", lambda *a, banner, **kw: seen.append(banner()))
    db = _replica_in_downtime(replica, tmp_path)
    result = CliRunner().invoke(
        app, ["report", "--db", str(db), "--out", str(tmp_path / "p"), "--watch"]
    )
    assert result.exit_code == 0, result.output
    assert seen == ["DOWNTIME"]
