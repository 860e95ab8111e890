""" "Data as of" is decided once (`standby.sync.status.data_as_of`): `standby status`,
`standby report` and the monitor's packet run say the same instant, before and after the
sync has finished a clean round (docs/sync.md#visibility)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from standby.cli.main import app
from standby.cli.monitor import packet_hook
from standby.fhir.display import parse_instant
from standby.settings import load_settings
from standby.store import open_store
from standby.sync import status as sync_status

NEWEST = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
ROUND = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _patient(pid: str, last_updated: str) -> bytes:
    meta = {"versionId": "1", "lastUpdated": last_updated}
    return orjson.dumps({"resourceType": "Patient", "id": pid, "meta": meta})


def _said(db: Path, tmp_path: Path, name: str) -> dict[str, datetime | None]:
    """What `standby status`, `standby report` and the monitor's packets say."""
    status = CliRunner().invoke(app, ["status", "--db", str(db), "--json"])
    assert status.exit_code == 0, status.output
    out = tmp_path / f"packets-{name}"
    report = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(out)])
    assert report.exit_code == 0, report.output
    settings = load_settings(db=db, reports_out_dir=tmp_path / f"monitor-{name}")
    store = open_store(db=db)
    try:
        packet_hook(settings, store)("DRILL", ROUND)
        decided = sync_status.data_as_of(store)
    finally:
        store.close()
    manifests = {
        "report": out / "manifest.json",
        "monitor": settings.reports_out_dir / "manifest.json",
    }
    said = {k: parse_instant(json.loads(p.read_text())["data_as_of"]) for k, p in manifests.items()}
    return {
        "decided": decided,
        "status": parse_instant(json.loads(status.stdout)["data_as_of"]),
        **said,
    }


def test_every_command_says_the_same_data_as_of(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    try:
        store.upsert(_patient("a", "2026-11-28T08:00:00Z"))
        store.upsert(_patient("b", "2026-11-28T09:30:00Z"))
    finally:
        store.close()
    # never synchronised: the newest resource the replica holds
    assert set(_said(db, tmp_path, "loaded").values()) == {NEWEST}

    store = open_store(db=db)
    try:
        sync_status.round_started(store, "ehr", "http://ehr.test/fhir", ROUND)
        sync_status.round_finished(
            store, "ehr", started=ROUND, finished=ROUND, ok=True, reachable=True
        )
    finally:
        store.close()
    # synchronised: the start of the last clean round
    assert set(_said(db, tmp_path, "synced").values()) == {ROUND}
