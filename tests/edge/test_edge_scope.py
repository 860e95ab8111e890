"""Which census answers an edge node keeps, and what its banner says is down."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from standby.edge.upstream import edge_state
from standby.store import open_store
from standby.sync import status
from standby.sync.units import on_units, unit_locations
from standby.sync.upstream import CHECKPOINT, status_url

LOCATIONS = [
    {"resourceType": "Location", "id": "loc-3w", "name": "3W Medical", "alias": ["3W"]},
    {"resourceType": "Location", "id": "loc-4e", "name": "4E Surgical", "alias": ["4E"]},
    {"resourceType": "Location", "id": "room-301", "partOf": {"reference": "Location/loc-3w"}},
    {"resourceType": "Location", "id": "bed-301a", "partOf": {"reference": "Location/room-301"}},
    {"resourceType": "Location", "id": "bed-401a", "partOf": {"reference": "Location/loc-4e"}},
]


def encounter(eid: str, loc: str) -> dict[str, object]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "in-progress",
        "subject": {"reference": f"Patient/p-{eid}"},
        "location": [{"location": {"reference": f"Location/{loc}"}}],
    }


def test_a_unit_is_its_ward_and_every_room_and_bed_below_it() -> None:
    found, missing = unit_locations(LOCATIONS, ["3w", "9Z"])
    assert found == {"loc-3w", "room-301", "bed-301a"}
    assert missing == ["9Z"]
    by_name, _ = unit_locations(LOCATIONS, ["4E Surgical"])
    assert by_name == {"loc-4e", "bed-401a"}


def test_only_encounters_on_the_units_are_kept() -> None:
    found, _ = unit_locations(LOCATIONS, ["3W"])
    answers = [
        encounter("a", "bed-301a"),
        encounter("b", "bed-401a"),
        encounter("c", "loc-3w"),
        {"resourceType": "Appointment", "id": "x", "participant": []},
    ]
    assert [r["id"] for r in on_units(answers, found)] == ["a", "c"]


def test_status_url_of_a_fhir_base() -> None:
    assert status_url("http://c:8080/fhir/") == "http://c:8080/status/node.json"


def _said(store: object, *, in_downtime: bool, ehr_reachable: bool) -> None:
    said = {
        "data_as_of": "2026-11-30T08:00:00.000Z",
        "ehr": {
            "state": "downtime" if in_downtime else "normal",
            "label": "EHR DOWNTIME" if in_downtime else "NORMAL",
            "in_downtime": in_downtime,
        },
        "sync": {"reachable": ehr_reachable},
    }
    kept = {"url": "http://c/fhir", "fetched_at": "2026-11-30T08:00:01.000Z", "said": said}
    store.set_checkpoint(CHECKPOINT, json.dumps(kept))  # type: ignore[attr-defined]


def test_the_ehr_down_is_told_apart_from_the_central_node_unreachable(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "edge.db")
    try:
        assert edge_state(store) is None  # not an edge node
        at = datetime(2026, 11, 30, 8, 0, 2, tzinfo=UTC)
        status.record_contact(store, "ehr", "http://c/fhir", answered=True, at=at)
        _said(store, in_downtime=False, ehr_reachable=True)
        assert edge_state(store).state == "ok"  # type: ignore[union-attr]
        _said(store, in_downtime=True, ehr_reachable=False)
        assert edge_state(store).state == "ehr-down"  # type: ignore[union-attr]
        _said(store, in_downtime=False, ehr_reachable=False)
        assert edge_state(store).state == "ehr-down"  # type: ignore[union-attr]
        status.record_contact(store, "ehr", "http://c/fhir", answered=False, at=at)
        cut = edge_state(store)
        assert cut is not None and cut.state == "central-unreachable"
        assert "unreachable from the central node" in cut.message
    finally:
        store.close()


def test_a_central_node_not_answering_the_token_request_is_unreachable(tmp_path: Path) -> None:
    from standby.settings import load_settings
    from standby.sync.auth import AuthError
    from standby.sync.jwks import generate_private_key, write_private_key
    from standby.sync.runner import SyncRunner
    from standby.web.server import bind

    sock = bind("127.0.0.1", 0)  # a port nobody answers on
    port = sock.getsockname()[1]
    sock.close()
    write_private_key(generate_private_key("ES384"), tmp_path / "edge.pem")
    store = open_store(db=tmp_path / "edge.db")
    settings = load_settings(
        db=tmp_path / "edge.db",
        db_encryption="off",
        source_url=f"http://127.0.0.1:{port}/fhir",
        auth="smart-backend",
        client_id="edge",
        private_key=tmp_path / "edge.pem",
        sync_units=["3W"],
        sync_max_attempts=1,
    )
    runner = SyncRunner(settings, store)
    try:
        _said(store, in_downtime=False, ehr_reachable=True)
        try:
            runner.check_auth()
        except AuthError as e:
            assert e.unreachable
        else:
            raise AssertionError("a token from nowhere")
        assert status.sync_health(store).reachable is False
        assert edge_state(store).state == "central-unreachable"  # type: ignore[union-attr]
    finally:
        runner.close()
        store.close()


def test_an_edge_node_plans_a_census_seed_of_its_units() -> None:
    from standby.settings import load_settings
    from standby.sync.capabilities import ServerCapabilities
    from standby.sync.runner import sync_plan

    caps = ServerCapabilities(known=True, software="Standby")
    whole = sync_plan(load_settings(source_url="http://c/fhir"), caps)
    edge = sync_plan(load_settings(source_url="http://c/fhir", sync_units=["3W"]), caps)
    assert whole.seed != "census"
    assert edge.seed == "census" and "3W" in edge.seed_reason


def test_every_page_of_an_edge_node_says_what_is_down_and_its_data_as_of(
    tmp_path: Path,
) -> None:
    import warnings

    from standby.settings import load_settings
    from standby.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    store = open_store(db=tmp_path / "edge.db")
    try:
        page = TestClient(create_app(load_settings(db=tmp_path / "edge.db"), store))
        assert 'id="edge-banner"' not in page.get("/status").text  # not an edge node
        _said(store, in_downtime=True, ehr_reachable=False)
        at = datetime(2026, 11, 30, 8, 0, 2, tzinfo=UTC)
        status.record_contact(store, "ehr", "http://c/fhir", answered=True, at=at)
        shown = page.get("/status").text
        assert 'data-edge-state="ehr-down"' in shown
        assert "EHR down (reported by the central Standby)" in shown
        status.record_contact(store, "ehr", "http://c/fhir", answered=False, at=at)
        shown = page.get("/status").text
        assert 'data-edge-state="central-unreachable"' in shown
        assert "the central node&#39;s" in shown or "the central node's" in shown
        assert page.get("/status/node.json").json()["edge_of"] == "http://c/fhir"
    finally:
        store.close()


def test_an_edge_nodes_census_asks_for_its_units_encounters_only() -> None:
    from standby.sync.census import CensusConfig, unit_census_queries

    cfg = CensusConfig(patient_types=("Encounter",), shared_types=(), units=("3W",))
    found, _ = unit_locations(LOCATIONS, ["3W"])
    first = unit_census_queries(cfg, found)
    assert [(q.resource_type, dict(q.params)["status"]) for q in first] == [
        ("Encounter", "in-progress")
    ]
    assert dict(first[0].params)["location"] == (
        "Location/bed-301a,Location/loc-3w,Location/room-301"
    )
    later = unit_census_queries(cfg, found, "2026-11-30T08:00:00.000Z")
    finished = [dict(q.params) for q in later if dict(q.params)["status"] == "finished"]
    assert finished and finished[0]["_lastUpdated"] == "gt2026-11-30T07:59:00.000Z"
    assert all(q.resource_type == "Encounter" for q in later)  # no Appointment: no one's unit


def test_a_source_that_cannot_search_encounters_by_location_is_asked_for_the_census() -> None:
    """Not a Standby, no `location` on Encounter: the hospital's Encounters in progress are
    asked for and filtered to the units here, as before."""
    from standby.sync.capabilities import ServerCapabilities, TypeCapability
    from standby.sync.plan import make_plan

    def caps(*params: str) -> ServerCapabilities:
        enc = TypeCapability(frozenset({"search-type", "read"}), frozenset(params))
        return ServerCapabilities(known=True, types={"Encounter": enc})

    kw = {"seed_mode": "auto", "sync_mode": "census", "patient_types": ["Encounter"]}
    assert make_plan(caps("patient", "location"), shared_types=[], **kw).encounter_location
    assert not make_plan(caps("patient", "status"), shared_types=[], **kw).encounter_location
    assert make_plan(
        ServerCapabilities.unknown("no answer"), shared_types=[], **kw
    ).encounter_location
