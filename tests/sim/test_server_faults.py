"""Fault injection and the change feed on the simulated EHR over real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from standby.sim.server import Faults, run_in_thread
from standby.sim.server.feed import Feed
from support.sim_server_support import client, small_store


def test_error_rate_gives_503_and_429_with_retry_after(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    faults = Faults(seed=3)
    with client(store, faults=faults) as c:
        assert c.post("/_admin/faults", json={"error_rate": 1.0}).json()["error_rate"] == 1.0
        statuses = set()
        for _ in range(30):
            r = c.get("/Patient/p1")
            assert r.status_code in (429, 503)
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["resourceType"] == "OperationOutcome"
            statuses.add(r.status_code)
        assert statuses == {429, 503}
        assert c.get("/_admin/faults").status_code == 200  # admin is never faulted
        c.post("/_admin/faults", json={"error_rate": 0})
        assert c.get("/Patient/p1").status_code == 200
        assert c.post("/_admin/faults", json={"error_rate": 7}).status_code == 400
    store.close()


def test_outage_resets_connections_and_comes_back(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    base, handle = run_in_thread(store)
    try:
        with httpx.Client(base_url=base, timeout=5) as h:
            assert h.get("/Patient/p1").status_code == 200
            handle.set_faults(outage=True)
            with pytest.raises(httpx.TransportError):
                h.get("/Patient/p1")
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{base}/metadata", timeout=5)
            # the admin port stays up and can end the outage
            admin = httpx.get(f"{handle.admin_url}/_admin/faults", timeout=5).json()
            assert admin["outage"] is True
            httpx.post(f"{handle.admin_url}/_admin/faults", json={"outage": False}, timeout=5)
            assert httpx.get(f"{base}/Patient/p1", timeout=5).status_code == 200
            handle.set_faults(error_rate=1.0)
            kinds: set[int | str] = set()
            for _ in range(20):
                try:
                    kinds.add(httpx.get(f"{base}/Patient/p1", timeout=5).status_code)
                except httpx.TransportError:
                    kinds.add("reset")
            assert "reset" in kinds and kinds & {429, 503}
    finally:
        handle.stop()
        store.close()


@pytest.mark.slow
def test_change_feed_writes_versions(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from standby.sim.generate import generate_hospital

    data = tmp_path / "data"
    generate_hospital(20, 7, data, now=datetime(2026, 11, 28, 10, tzinfo=UTC))
    from standby.sim.server import load_store

    store = load_store(data)
    assert store.read("Group", "inpatients") is not None
    feed = Feed(store, rate=0, seed=7)
    recs = feed.step(15, datetime(2026, 11, 28, 10, 5, tzinfo=UTC))
    assert len(recs) >= 10
    for rec in recs:
        rtype, rid = rec["reference"].split("/")
        sr = store.read(rtype, rid)
        assert sr is not None
        assert int(sr.version_id) >= int(rec["versionId"])
    assert feed.log_since(None) == recs
    assert feed.log_since(recs[-1]["changed_at"]) == []
    with client(store, feed=feed) as c:
        log = c.get("/_admin/changes").json()
        assert len(log["changes"]) == len(recs)
    store.close()
    # a second start reuses the loaded database
    again = load_store(data)
    assert again.read(*recs[0]["reference"].split("/")) is not None
    again.close()


def test_fault_listeners_hear_every_change() -> None:
    faults = Faults(seed=1)
    heard: list[dict[str, object]] = []
    faults.on_change(lambda f: heard.append(f.as_json()))
    faults.set(outage=True)
    faults.set(latency_ms=5)
    assert heard == [
        {"error_rate": 0.0, "latency_ms": 0, "outage": True},
        {"error_rate": 0.0, "latency_ms": 5, "outage": True},
    ]
