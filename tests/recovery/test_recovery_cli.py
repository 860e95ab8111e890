"""`standby recover plan|run|status`: a run waits for the incident commander's end of the
downtime; plan says what would be sent; status counts by kind and status. And the
replica's facts: the Encounter version the clinician saw."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from standby import clock
from standby.cli.main import app
from standby.journal.entries import Kind
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.recovery import facts
from standby.store.base import Store
from support.journal_entries import NOW, entry
from support.recovery_support import Site, make_site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    s = make_site(tmp_path, patients=3, hours=4, registrations=0)
    monkeypatch.setenv("STANDBY_SOURCE_URL", s.base)
    monkeypatch.setenv("STANDBY_RECOVERY_RATE", "0")
    try:
        yield s
    finally:
        s.close()


def _db(site: Site) -> list[str]:
    return ["--db", str(site.tmp / "replica.db")]


def test_a_run_waits_for_the_end_of_the_downtime(site: Site) -> None:
    r = CliRunner().invoke(app, ["recover", "run", *_db(site)])
    assert r.exit_code == 2 and "no downtime has been ended" in r.output
    cfg = MonitorConfig()
    downtime.declare(site.replica, cfg, "ic", clock.now(), reason="test")
    r = CliRunner().invoke(app, ["recover", "run", *_db(site)])
    assert r.exit_code == 2 and "the downtime is not over (state: downtime)" in r.output
    downtime.confirm_end(site.replica, cfg, "ic", clock.now())
    r = CliRunner().invoke(app, ["recover", "run", *_db(site), "--json"])
    assert r.exit_code == 0, r.output
    result = orjson.loads(r.output.splitlines()[-1])
    assert result["confirmed"] == len(site.plan().steps) and result["transactions"] is True
    status = CliRunner().invoke(app, ["recover", "status", *_db(site), "--json"])
    got = orjson.loads(status.output)
    assert got["totals"]["confirmed"] == len(site.plan().steps)
    assert got["by_kind"]["vitals"] == {"confirmed": got["by_kind"]["vitals"]["confirmed"]}
    assert got["took_seconds"] is not None
    text = CliRunner().invoke(app, ["recover", "status", *_db(site)]).output
    assert "confirmed" in text and "vitals" in text and "time taken" in text


def test_plan_says_what_would_be_sent_and_sends_nothing(site: Site) -> None:
    r = CliRunner().invoke(app, ["recover", "plan", *_db(site), "--steps"])
    assert r.exit_code == 0, r.output
    assert "sent as: one transaction Bundle per patient" in r.output
    assert f"{len(site.plan().steps)} entries to file (0 already done)" in r.output
    assert "POST Observation If-None-Exist: identifier=urn:ietf:rfc:3986|urn:uuid:" in r.output
    status = CliRunner().invoke(app, ["recover", "status", *_db(site)])
    assert "back-entry has not run on this replica" in status.output


def test_a_drill_files_to_a_test_ehr_only(site: Site) -> None:
    r = CliRunner().invoke(app, ["recover", "run", *_db(site), "--drill"])
    assert r.exit_code == 2 and "--drill needs --source" in r.output
    r = CliRunner().invoke(app, ["recover", "run", *_db(site), "--drill", "--source", site.base])
    assert r.exit_code == 2 and "not the EHR Standby replicates" in r.output


def test_the_version_seen_is_named_by_the_entry_or_taken_from_the_replica(store: Store) -> None:
    enc = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "in-progress",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
    }
    for version, at in (("1", NOW - timedelta(hours=5)), ("2", NOW - timedelta(hours=1))):
        store.upsert(
            orjson.dumps({**enc, "meta": {"versionId": version, "lastUpdated": clock.instant(at)}})
        )
    early = entry(Kind.TRANSFER, now=NOW - timedelta(hours=2), minutes_ago=5)
    late = entry(Kind.TRANSFER, now=NOW)
    named = entry(
        Kind.TRANSFER, now=NOW, payload={"location_id": "icu-1", "encounter_version": "1"}
    )
    before_all = entry(Kind.DISCHARGE, now=NOW - timedelta(hours=9), minutes_ago=5)
    seen = facts.seen_versions(store, [early, late, named, before_all])
    assert (seen[early.id].version_id, seen[early.id].source) == ("1", "replica")
    assert seen[late.id].version_id == "2"
    assert (seen[named.id].version_id, seen[named.id].source) == ("1", "payload")
    # changed since it was seen: the oldest held (the EHR's 412 makes it a conflict)
    assert seen[before_all.id].version_id == "1"
