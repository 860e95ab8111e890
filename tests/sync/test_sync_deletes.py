"""Deletes at the source reach the replica: through `_history` where the server offers it,
else through a reconciliation of ids (`_elements=id`) that tombstones what the source no
longer has and re-fetches what the replica misses. Against the simulated EHR over a
socket, in its default mode and in its strict mode without `_history`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from standby.bench.sync_bench import serve
from standby.sim.server import create_app
from standby.sim.server.strict import Strictness
from standby.store.sqlite import SQLiteStore
from standby.sync.census import CensusConfig
from standby.sync.http import FhirClient
from standby.sync.incremental import IncrementalSync
from support.sim_server_support import small_store

TYPES = ("Patient", "Encounter", "Observation")


def under_fhir(app: Any) -> Any:
    """The app served under /fhir (the bench's `serve` gives that base URL)."""

    async def asgi(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"].removeprefix("/fhir") or "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)

    return asgi


@contextmanager
def sync_against(tmp_path, history: bool, mode: str) -> Iterator[tuple[Any, Any, Any]]:
    source = small_store(tmp_path)
    app = create_app(source, strict=Strictness(no_history=not history))
    replica = SQLiteStore(tmp_path / "replica.db")
    with serve(lambda base: under_fhir(app)) as url:
        client = FhirClient(url, rate=0)
        cfg = CensusConfig(source="ehr", patient_types=TYPES, shared_types=(), overlap_seconds=5)
        sync = IncrementalSync(
            client, replica, cfg, mode=mode, types=TYPES, workers=2, reconcile_minutes=1e-6
        )
        try:
            yield source, replica, sync
        finally:
            sync.close()
            client.close()
            app.state.exports.close()
            replica.close()
            source.close()


@pytest.mark.parametrize("history", [True, False], ids=["history", "reconcile"])
@pytest.mark.parametrize("mode", ["census", "type"])
def test_a_delete_at_the_source_reaches_the_replica(tmp_path, history, mode):
    with sync_against(tmp_path, history, mode) as (source, replica, sync):
        assert sync.run_round().ok
        assert replica.read("Observation", "o1-0") is not None
        source.delete("Observation", "o1-0")
        source.delete("Encounter", "e1")
        r = sync.run_round()
        assert r.ok, r
        sync.wait_reconciled()  # without _history, a reconciliation runs beside the rounds
        gone = replica.read("Observation", "o1-0")
        assert gone is not None and gone.deleted
        assert replica.read("Encounter", "e1").deleted
        found = replica.search("Observation", [("patient", "Patient/p1")])
        assert {x.id for x in found.resources} == {"o1-1", "o1-2"}
        assert replica.read("Observation", "o1-1") is not None
        assert sync.deletes.level == ("system" if history else "none")


def test_reconciliation_refetches_what_the_replica_misses(tmp_path):
    with sync_against(tmp_path, False, "type") as (_source, replica, sync):
        assert sync.run_round().ok
        missing = "o2-1"
        # a replica that never received it (a search that missed it), with the
        # reconciliation due again
        with replica.transaction() as tx:
            tx.execute("DELETE FROM checkpoint WHERE stream = ?", ("sync:ehr:reconcile",))
            rid = tx.query(
                "SELECT rid FROM resource WHERE type = ? AND id = ?", ("Observation", missing)
            )[0][0]
            for table in ("idx_token", "idx_string", "idx_date", "idx_ref", "resource_history"):
                tx.execute(f"DELETE FROM {table} WHERE rid = ?", (rid,))
            tx.execute("DELETE FROM resource WHERE rid = ?", (rid,))
        assert replica.read("Observation", missing) is None
        assert sync.run_round().ok
        sync.wait_reconciled()
        assert replica.read("Observation", missing) is not None


@pytest.mark.parametrize("lists", [False, True], ids=["lists-nothing", "lists-o2"])
def test_a_source_whose_reads_fail_never_empties_the_replica(tmp_path, lists):
    """Reconciliation tombstones only what a working read of the source says is gone: here
    every read answers 404 (no read interaction, say)."""
    import httpx

    from standby.sync.status import source_status
    from support.sync_pages import BASE, bundle, entry

    replica = SQLiteStore(tmp_path / "r.db")
    for i in (1, 2):
        replica.upsert(f'{{"resourceType":"Observation","id":"o{i}"}}'.encode())
    replica.set_checkpoint("sync:ehr:history:level", "none")
    listing = bundle(entry(b'{"resourceType":"Observation","id":"o2"}')) if lists else bundle()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.count("/") > 2:  # /fhir/Observation/o1: a read
            return httpx.Response(404)
        body = listing if request.url.params.get("_elements") == "id" else bundle()
        return httpx.Response(200, content=body, headers={"Content-Type": "application/fhir+json"})

    client = FhirClient(BASE, transport=httpx.MockTransport(answer), rate=0)
    cfg = CensusConfig(source="ehr", patient_types=("Observation",), shared_types=())
    sync = IncrementalSync(client, replica, cfg, mode="type", types=["Observation"], workers=1)
    try:
        sync.run_round()  # starts the reconciliation
        sync.wait_reconciled()
        result = sync.run_round()  # which counts its outcome
    finally:
        sync.close()
        client.close()
    assert not replica.read("Observation", "o1").deleted
    assert not replica.read("Observation", "o2").deleted
    assert not result.ok
    (st,) = source_status(replica)
    assert st.last_error and "no delete confirmed" in st.last_error
    replica.close()
