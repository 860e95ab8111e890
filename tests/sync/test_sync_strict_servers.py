"""The sync against the simulated EHR in its strict modes (servers that offer less than
ours): census searches that every server matches, a first pull checked before it counts,
a seed chosen from the CapabilityStatement, and status that says what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.settings import Settings
from standby.sim.server import Strictness, run_in_thread
from standby.store import Store, open_store
from standby.sync.runner import SyncRunner
from support.sim_server_support import small_store

CENSUS = {f"p{i}" for i in range(5)}  # small_store: in-progress inpatient encounters
HANDLES: dict[str, Any] = {}  # base URL → the running simulated EHR


@contextmanager
def strict_ehr(tmp_path: Path, modes: str) -> Iterator[tuple[str, Store]]:
    where = tmp_path / "ehr"
    where.mkdir(parents=True, exist_ok=True)
    ehr = small_store(where)
    url, handle = run_in_thread(ehr, strict=Strictness.parse(modes))
    HANDLES[url] = handle
    try:
        yield url, ehr
    finally:
        handle.stop()
        ehr.close()


def observations_of(store: Store, pids: set[str]) -> set[str]:
    return {
        sr.id
        for sr in store.iter_type("Observation")
        if sr.json()["subject"]["reference"].removeprefix("Patient/") in pids
    }


def pulled(store: Store) -> dict[str, int]:
    with store.read_transaction() as tx:
        return {str(p): int(d) for p, d in tx.query("SELECT patient_id, pulled FROM sync_census")}


def status_json(db: Path) -> dict[str, Any]:
    out = CliRunner().invoke(app, ["status", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def sync_once(base: str, db: Path, *extra: str) -> Any:
    return CliRunner().invoke(app, ["sync", "--source", base, "--db", str(db), "--once", *extra])


# ---- census searches every server matches -------------------------------------------------
def test_census_against_a_server_that_ignores_bare_ids_copies_everything(tmp_path: Path) -> None:
    with strict_ehr(tmp_path, "no-bare-ids") as (base, ehr):
        settings = Settings(db=tmp_path / "r.db", source_url=base, sync_seed_mode="none")
        with open_store(db=settings.db) as replica:
            runner = SyncRunner(settings, replica)
            try:
                first = runner.run_round()
                second = runner.run_round()
            finally:
                runner.close()
            assert first.ok and second.ok
            assert observations_of(replica, CENSUS) == observations_of(ehr, CENSUS)
            assert len(observations_of(replica, CENSUS)) == 15
            held = pulled(replica)  # the census, and those discharged since (kept a while)
            assert set(held) >= CENSUS and set(held.values()) == {1}
            assert observations_of(replica, set(held)) == observations_of(ehr, set(held))


class BareIds(httpx.BaseTransport):
    """A fault proxy in front of a real socket: it strips the type off patient references,
    as a client sending bare ids would, so that a server matching only typed references
    answers the full pulls with nothing."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = [
            (k, v.replace("Patient/", "") if k in ("patient", "subject") else v)
            for k, v in request.url.params.multi_items()
        ]
        request.url = request.url.copy_with(params=params)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_first_pull_that_misses_data_is_not_marked_pulled_and_the_round_not_ok(
    tmp_path: Path,
) -> None:
    with strict_ehr(tmp_path, "no-bare-ids") as (base, _ehr):
        db = tmp_path / "r.db"
        settings = Settings(db=db, source_url=base, sync_seed_mode="none")
        with open_store(db=db) as replica:
            runner = SyncRunner(settings, replica, transport=BareIds())
            try:
                result = runner.run_round()
            finally:
                runner.close()
            assert not result.ok
            assert pulled(replica) == {p: 0 for p in CENSUS}  # pulled again next round
        (src,) = status_json(db)["sources"]
        assert src["last_round"] == "failed"
        assert "not verified" in (src["last_error"] or "")
        assert any(e["kind"] == "verify" for e in src["recent_errors"])
        text = CliRunner().invoke(app, ["status", "--db", str(db)]).stdout
        assert "FAILED" in text


class DropsObservations(httpx.BaseTransport):
    """A fault proxy that loses one Observation of every search page (and leaves counts
    alone): a server that answers a search with less than it holds."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/Observation" or "_summary" in request.url.params:
            return response
        body = json.loads(response.read())
        body["entry"] = (body.get("entry") or [])[1:]
        return httpx.Response(
            response.status_code, headers={"Date": response.headers.get("Date", "")}, json=body
        )

    def close(self) -> None:
        self.inner.close()


def test_a_first_pull_is_checked_against_the_count(tmp_path: Path) -> None:
    with strict_ehr(tmp_path, "") as (base, _ehr):
        db = tmp_path / "r.db"
        settings = Settings(db=db, source_url=base, sync_seed_mode="none")
        with open_store(db=db) as replica:
            runner = SyncRunner(settings, replica, transport=DropsObservations())
            try:
                result = runner.run_round()
            finally:
                runner.close()
            assert not result.ok
            assert pulled(replica) == {p: 0 for p in CENSUS}
        (src,) = status_json(db)["sources"]
        assert "_summary=count" in (src["last_error"] or "")


# ---- the seed chosen from the CapabilityStatement -----------------------------------------
def test_default_seed_without_export_searches_and_later_rounds_keep_working(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    with strict_ehr(tmp_path, "no-export") as (base, ehr):
        first = sync_once(base, db)
        assert first.exit_code == 0, first.output
        again = sync_once(base, db)
        assert again.exit_code == 0, again.output
        with open_store(db=db) as replica:
            assert {sr.id for sr in replica.iter_type("Observation")} == {
                sr.id for sr in ehr.iter_type("Observation")
            }
    (src,) = status_json(db)["sources"]
    assert src["plan"].startswith("search: no $export offered")
    assert src["last_round"] == "ok" and src["last_error"] is None


def test_default_seed_without_export_or_type_search_goes_by_the_census(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with strict_ehr(tmp_path, "no-export,no-type-search,no-bare-ids,no-history") as (base, ehr):
        r = sync_once(base, db, "--verbose")
        assert r.exit_code == 0, r.output
        assert "census" in r.output
        with open_store(db=db) as replica:
            assert observations_of(replica, CENSUS) == observations_of(ehr, CENSUS)
            assert pulled(replica) == {p: 1 for p in CENSUS}
        again = sync_once(base, db)
        assert again.exit_code == 0, again.output
    (src,) = status_json(db)["sources"]
    assert src["plan"].startswith("census: no $export offered")


def test_a_failed_seed_is_recorded_in_status(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with strict_ehr(tmp_path, "no-export") as (base, _ehr):
        r = sync_once(base, db, "--seed-mode", "bulk")
        assert r.exit_code == 1
    (src,) = status_json(db)["sources"]
    assert src["last_round"] == "failed"
    assert "$export" in (src["last_error"] or "")
    assert any(e["kind"] == "seed" for e in src["recent_errors"])


# ---- rounds that did not finish -----------------------------------------------------------
KILLED = """
import os, sys
from datetime import UTC, datetime
from standby.store import open_store
from standby.sync import status
store = open_store(db=sys.argv[1])
status.round_started(store, "ehr", "http://ehr.test", datetime.now(UTC))
os._exit(9)  # killed in the middle of the round: nothing after this runs
"""


def test_a_killed_round_shows_interrupted_never_a_finish_before_its_start(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with strict_ehr(tmp_path, "") as (base, _ehr):
        assert sync_once(base, db, "--seed-mode", "none").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    subprocess.run([sys.executable, "-c", KILLED, str(db)], env=env, check=False)
    (src,) = status_json(db)["sources"]
    assert src["last_round"] == "interrupted"
    text = CliRunner().invoke(app, ["status", "--db", str(db)]).stdout
    assert "INTERRUPTED" in text and "still running" not in text
    with strict_ehr(tmp_path / "again", "") as (base, _ehr):
        assert sync_once(base, db, "--seed-mode", "none").exit_code == 0
    (src,) = status_json(db)["sources"]
    assert src["last_round"] == "ok"
    assert any("interrupted" in e["message"] for e in src["recent_errors"])


@pytest.mark.parametrize("modes", ["no-export", "no-type-search", "no-history", "all"])
def test_plan_prints_without_changing_anything(tmp_path: Path, modes: str) -> None:
    db = tmp_path / "r.db"
    with strict_ehr(tmp_path, modes) as (base, _ehr):
        r = CliRunner().invoke(app, ["sync", "--source", base, "--db", str(db), "--plan"])
    assert r.exit_code == 0, r.output
    assert not db.exists()
    out = r.stdout
    assert "seed:" in out and "types copied" in out
    assert "Procedure" in out and "Immunization" in out and "MedicationDispense" in out
    if "export" in modes or modes == "all":
        assert "Bulk Data $export: " in out
    if modes == "no-type-search":  # $export still seeds; the rounds go by the census
        assert "seed: bulk" in out and "only census patients are copied" in out
    if modes == "all":
        assert "seed: census" in out and "_history: " in out
    if modes == "no-history":
        assert "seed: bulk" in out and "_history: " in out


def test_reachability_follows_requests_within_a_round(tmp_path: Path) -> None:
    """While a request still retries during an outage (a round going on), status already
    says the source does not answer; the first answer after it says it does."""
    from standby.sync import status
    from standby.sync.http import FhirClient, RetryPolicy, SourceUnreachable

    seen: list[bool | None] = []
    with strict_ehr(tmp_path, "") as (base, _ehr), open_store(db=tmp_path / "r.db") as replica:
        client = FhirClient(
            base,
            policy=RetryPolicy(max_attempts=2, base_delay=0.0),
            sleep=lambda _delay: seen.append(status.sync_health(replica).reachable),
            on_contact=status.ContactRecorder(replica, "ehr", base, every_s=0.0),
        )
        HANDLES[base].set_faults(outage=True)
        with pytest.raises(SourceUnreachable):
            client.request("GET", "Patient/p1")
        assert seen == [False]  # between two tries, before anything ended
        HANDLES[base].set_faults(outage=False)
        client.request("GET", "Patient/p1")
        assert status.sync_health(replica).reachable is True
        client.close()
