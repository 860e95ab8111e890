"""The edge node's read of the central node's `/status/node.json` is capped (1 MB): a
compromised central node sending an endless status never fills the edge's memory; the
answer is refused and recorded as the central node's failure, and what was kept stays."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from standby.store import open_store
from standby.sync import upstream

SAID = {"data_as_of": "2026-11-30T08:00:00Z", "ehr": {"label": "NORMAL"}}


def _endless(request: httpx.Request) -> httpx.Response:
    def body():  # never ends: only a reader that stops early returns
        chunk = b" " * 65536
        while True:
            yield chunk

    return httpx.Response(200, content=body())


def test_a_status_larger_than_the_cap_is_refused_and_recorded(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "edge.db")
    ok = httpx.MockTransport(lambda r: httpx.Response(200, json=SAID))
    assert upstream.fetch(store, "http://c/fhir", transport=ok)
    before = store.get_checkpoint(upstream.CHECKPOINT)

    assert not upstream.fetch(
        store, "http://c/fhir", source="central", transport=httpx.MockTransport(_endless)
    )
    assert store.get_checkpoint(upstream.CHECKPOINT) == before  # what was kept stays
    with store.read_transaction() as tx:
        rows = tx.query("SELECT source, kind, message FROM sync_event")
    assert [(s, k) for s, k, _ in rows] == [("central", "central-status")]
    assert "larger than 1024 KB" in rows[0][2]


def test_a_status_under_the_cap_is_kept(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "edge.db")
    padded = {**SAID, "pad": "x" * 500_000}
    ok = httpx.MockTransport(lambda r: httpx.Response(200, json=padded))
    assert upstream.fetch(store, "http://c/fhir", transport=ok)
    kept = json.loads(store.get_checkpoint(upstream.CHECKPOINT) or "{}")
    assert kept["said"]["ehr"] == {"label": "NORMAL"}
