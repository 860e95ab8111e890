"""What a search answers passes the same gate as a bulk file: a type that is not FHIR R4,
a bad id or a meta that is not an object is quarantined with the reason; the rest is
stored with the exact text the source sent."""

from __future__ import annotations

import httpx

from standby.store.sqlite import SQLiteStore
from standby.sync.census import CensusConfig
from standby.sync.http import FhirClient
from standby.sync.incremental import IncrementalSync

BASE = "http://ehr.test/fhir"
ANSWER = (
    b'{"resourceType":"Bundle","type":"searchset","entry":['
    b'{"resource":{"resourceType":"Patient","id":"p1",'
    b'"meta":{"versionId":"1","lastUpdated":"2026-11-28T10:00:00.000Z"},'
    b'"extension":[{"url":"http://x/weight","valueDecimal":70.50}]}},'
    b'{"resource":{"resourceType":"Spaceship","id":"s1"}},'
    b'{"resource":{"resourceType":"Patient","id":"bad id"}},'
    b'{"resource":{"resourceType":"Patient","id":"p2","meta":"yesterday"}},'
    b'{"resource":{"resourceType":"OperationOutcome","id":"oo"},"search":{"mode":"outcome"}}'
    b"]}"
)


def test_a_search_answer_passes_the_gate(tmp_path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=ANSWER, headers={"Content-Type": "application/json"})

    store = SQLiteStore(tmp_path / "r.db")
    client = FhirClient(BASE, transport=httpx.MockTransport(answer), rate=0)
    cfg = CensusConfig(source="ehr", patient_types=("Patient",), shared_types=())
    sync = IncrementalSync(client, store, cfg, mode="type", types=["Patient"], workers=1)
    try:
        result = sync.run_round()
    finally:
        sync.close()
        client.close()
    assert result.ok and result.stats.written == 1 and result.stats.quarantined == 3
    held = store.read("Patient", "p1")
    assert held is not None and b'"valueDecimal":70.50' in held.body
    assert store.counts_by_type() == {"Patient": 1}
    items = {q.reason: q for q in store.quarantined()}
    assert items["unknown resourceType 'Spaceship'"].resource_type == "Spaceship"
    assert any("not a valid FHIR id" in r for r in items)
    assert items["meta is not an object"].resource_id == "p2"
    assert all(
        q.source == "sync:ehr" and q.file.startswith(f"{BASE}/Patient?") for q in items.values()
    )
    store.close()
