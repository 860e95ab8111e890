"""The simulated EHR's strict modes: each takes something away, and /metadata says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standby.sim.server import Strictness
from standby.sim.server.strict import COMBINATION_EXT
from standby.store import Store
from support.sim_server_support import client, small_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = small_store(tmp_path)
    yield s
    s.close()


def _cap(c: Any) -> dict[str, Any]:
    body: dict[str, Any] = c.get("/metadata").json()
    return body


def _resource(cap: dict[str, Any], rtype: str) -> dict[str, Any]:
    return next(r for r in cap["rest"][0]["resource"] if r["type"] == rtype)


def test_parse_modes() -> None:
    assert Strictness.parse("no-export, no-history").names() == ["no-export", "no-history"]
    assert Strictness.parse("all") == Strictness(
        no_bare_ids=True, no_export=True, no_type_search=True, no_history=True, no_transaction=True
    )
    assert Strictness.parse("") == Strictness()
    with pytest.raises(ValueError, match="no-such"):
        Strictness.parse("no-such")


def test_default_offers_everything(store: Store) -> None:
    with client(store) as c:
        cap = _cap(c)
        obs = _resource(cap, "Observation")
        codes = {i["code"] for i in obs["interaction"]}
        assert {"history-type", "history-instance", "search-type"} <= codes
        assert "extension" not in obs
        assert cap["rest"][0]["operation"][0]["name"] == "export"
        assert c.get("/Observation/_history").status_code == 200
        assert c.get("/Observation?_count=5").status_code == 200
        bare = c.get("/Observation?patient=p1").json()
        assert len(bare["entry"]) == 3


def test_no_history(store: Store) -> None:
    with client(store, strict=Strictness(no_history=True)) as c:
        for url in ("/_history", "/Observation/_history", "/Observation/o1-1/_history"):
            r = c.get(url)
            assert r.status_code == 404, url
            assert r.json()["resourceType"] == "OperationOutcome"
        assert c.get("/Observation/o1-1").status_code == 200
        cap = _cap(c)
        rest = cap["rest"][0]
        assert "history-system" not in {i["code"] for i in rest["interaction"]}
        obs = _resource(cap, "Observation")
        assert not {"history-type", "history-instance"} & {i["code"] for i in obs["interaction"]}
        assert obs["readHistory"] is False


def test_no_export(store: Store) -> None:
    with client(store, strict=Strictness(no_export=True)) as c:
        r = c.get("/$export", headers={"Prefer": "respond-async"})
        assert r.status_code == 404
        cap = _cap(c)
        assert "operation" not in cap["rest"][0]
        assert "instantiates" not in cap
        assert "operation" not in _resource(cap, "Patient")


def test_no_type_search(store: Store) -> None:
    with client(store, strict=Strictness(no_type_search=True)) as c:
        r = c.get("/Observation?_lastUpdated=gt2000-01-01")
        assert r.status_code == 400
        assert "patient" in r.json()["issue"][0]["diagnostics"]
        assert c.get("/Observation?_count=10").status_code == 400
        assert len(c.get("/Observation?patient=Patient/p1").json()["entry"]) == 3
        assert len(c.get("/Observation?subject=Patient/p1").json()["entry"]) == 3
        assert len(c.get("/Encounter?status=in-progress").json()["entry"]) == 5
        assert c.get("/Patient?_id=p1,p2").status_code == 200
        assert c.get("/Patient").status_code == 400
        assert c.get("/Location").status_code == 200  # shared data: not patient-scoped
        obs = _resource(_cap(c), "Observation")
        combos = [
            [x["valueString"] for x in e["extension"] if x["url"] == "required"]
            for e in obs["extension"]
            if e["url"] == COMBINATION_EXT
        ]
        assert combos == [["patient"], ["subject"]]


def test_no_bare_ids_matches_nothing(store: Store) -> None:
    with client(store, strict=Strictness(no_bare_ids=True)) as c:
        bare = c.get("/Observation?patient=p1").json()
        assert bare.get("entry", []) == []
        typed = c.get("/Observation?patient=Patient/p1,p2").json()
        assert len(typed["entry"]) == 3
        count = c.get("/Observation?patient=Patient/p1&_summary=count").json()
        assert count["total"] == 3 and not count.get("entry")


def test_summary_count(store: Store) -> None:
    with client(store) as c:
        b = c.get("/Observation?patient=Patient/p1&_summary=count").json()
        assert b["total"] == 3
        assert not b.get("entry")
        assert not [lk for lk in b["link"] if lk["relation"] == "next"]
