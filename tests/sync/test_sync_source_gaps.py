"""What a hospital's IT found pointing `standby sync` at a FHIR server not written here, as
tests against both servers (the simulated EHR and the second server, Medplum's FhirRouter):
a server without Bulk export, deletes at the source, a page the strict parser refuses, an
OperationOutcome inside a search answer, an outage. Those that fail today are marked
`xfail(strict=True)` with the gap they show; they pass once the sync closes it, and then
the mark goes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from standby.sync import status
from support.second_server.replica import (
    PATIENT_TYPES,
    SHARED_TYPES,
    missing_or_different,
    replica_ids,
    sync_against,
)
from support.second_server.sources import FhirSource

ALL_TYPES = PATIENT_TYPES + SHARED_TYPES
SECOND = pytest.mark.second_server


def sources(*, sim: str | None = None, second: str | None = None) -> list:
    """The `fhir_source` parameters, each marked xfail with `reason` where given."""
    out = []
    for kind, reason, marks in (("sim", sim, []), ("second", second, [SECOND])):
        if reason:
            marks = [*marks, pytest.mark.xfail(strict=True, reason=reason)]
        out.append(pytest.param(kind, marks=marks, id=kind))
    return out


def observation(id: str, patient: str, value: str = "72") -> dict:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-29T10:00:00Z",
        "valueQuantity": {"value": float(value), "unit": "/min"},
    }


@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_default_seed_chooses_what_the_server_offers(fhir_source: FhirSource, tmp_path: Path):
    with sync_against(fhir_source, tmp_path) as sync:  # seed mode as `standby sync` defaults
        sync.seed()
        assert missing_or_different(fhir_source, sync.store, ALL_TYPES) == {}
        sync.seed()  # a later start with the same settings: nothing to redo, no error
        assert sync.run_round().ok
        (src,) = status.source_status(sync.store)
        assert src.last_error is None


@pytest.mark.parametrize("mode", ["type", pytest.param("census", marks=pytest.mark.slow)])
@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_a_delete_at_the_source_disappears_from_the_replica(
    fhir_source: FhirSource, tmp_path: Path, mode: str
):
    # without _history (the second server), a reconciliation of ids finds deletes: due at
    # every round here, run beside the rounds (docs/sync.md#deletes)
    with sync_against(
        fhir_source,
        tmp_path,
        sync_seed_mode="search",
        sync_mode=mode,
        sync_reconcile_minutes=1e-6,
    ) as sync:
        assert sync.seed().ok
        assert sync.run_round().ok
        held = replica_ids(sync.store, "Observation")
        gone = sorted(held)[:3]
        for id in gone:
            fhir_source.admin.delete("Observation", id)
        for _ in range(30):
            assert sync.run_round().ok
            sync.incremental.wait_reconciled()
            if replica_ids(sync.store, "Observation") == held - set(gone):
                break
        assert replica_ids(sync.store, "Observation") == held - set(gone)


BIG_DECIMAL = b"987654.321"  # rewritten by the proxy to 1e400: valid JSON, beyond a double
SURROGATE = b"SURROGATE-NAME"  # rewritten to a lone surrogate escape, \ud83d


@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_a_resource_the_parser_refuses_costs_only_itself(fhir_source: FhirSource, tmp_path: Path):
    patients = sorted(fhir_source.admin.ids("Patient"))
    fhir_source.admin.put(observation("huge-value", patients[0], BIG_DECIMAL.decode()))
    odd = fhir_source.admin.read("Patient", patients[1])
    odd["name"] = [{"family": SURROGATE.decode(), "given": ["Test"]}]
    fhir_source.admin.put(odd)
    fhir_source.proxy.set_rewrite(
        lambda _path, body: body.replace(BIG_DECIMAL, b"1e400").replace(SURROGATE, b"\\ud83d")
    )
    with sync_against(fhir_source, tmp_path, sync_seed_mode="search") as sync:
        result = sync.seed()
        assert result is not None and result.ok
        bad = {("Observation", "huge-value"), ("Patient", patients[1])}
        quarantined = {(q.resource_type, q.resource_id) for q in sync.store.quarantined()}
        for rtype, id in bad:  # stored (decimals as text) or set aside by name, not lost
            assert sync.store.read(rtype, id) is not None or (rtype, id) in quarantined
        fhir_source.proxy.set_rewrite(None)
        wrong = missing_or_different(fhir_source, sync.store, ALL_TYPES)
        for rtype, id in bad:
            wrong[rtype] = [w for w in wrong.get(rtype, []) if not w.startswith(f"{id}:")]
        assert {t: w for t, w in wrong.items() if w} == {}


@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_an_operation_outcome_in_a_search_answer_is_logged(
    fhir_source: FhirSource, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    said = "MARK-OUTCOME: results were limited by the server"
    entry = {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "incomplete", "diagnostics": said}],
        },
        "search": {"mode": "outcome"},
    }

    def add_outcome(path: str, body: bytes) -> bytes:
        if "/Observation" not in path or b'"entry":[' not in body:
            return body
        return body.replace(b'"entry":[', b'"entry":[' + json.dumps(entry).encode() + b",", 1)

    fhir_source.proxy.set_rewrite(add_outcome)
    with (
        caplog.at_level(logging.WARNING, logger="standby.sync"),
        sync_against(fhir_source, tmp_path, sync_seed_mode="search") as sync,
    ):
        assert sync.seed().ok
    assert any(said in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


@pytest.mark.slow
@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_after_an_outage_the_replica_catches_up_with_nothing_lost(
    fhir_source: FhirSource, tmp_path: Path
):
    with sync_against(
        fhir_source, tmp_path, sync_seed_mode="search", sync_mode="type", sync_max_attempts=2
    ) as sync:
        assert sync.seed().ok
        patient = sorted(fhir_source.admin.ids("Patient"))[0]
        fhir_source.proxy.cut(8)
        for i in range(5):  # changes made while the sync cannot reach the server
            fhir_source.admin.put(observation(f"during-outage-{i}", patient))
        assert not sync.run_round().ok  # the cut is seen: the round fails, no mark moves
        while fhir_source.proxy.faults.outage:  # the cut ends by itself
            sync.run_round()
        assert any(sync.run_round().ok for _ in range(3))
        assert missing_or_different(fhir_source, sync.store, ALL_TYPES) == {}


@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_an_oversize_resource_is_quarantined_once_by_type_and_id(
    fhir_source: FhirSource, tmp_path: Path
):
    patient = sorted(fhir_source.admin.ids("Patient"))[0]
    big = observation("too-big", patient)
    big["note"] = [{"text": "x" * 40_000}]
    fhir_source.admin.put(big)
    with sync_against(
        fhir_source,
        tmp_path,
        sync_seed_mode="search",
        sync_mode="type",
        max_resource_bytes=20_000,
    ) as sync:
        sync.seed()
        sync.run_round()
        sync.run_round()
        rows = [q for q in sync.store.quarantined() if "too-big" in (q.resource_id or q.excerpt)]
        assert [(q.resource_type, q.resource_id) for q in rows] == [("Observation", "too-big")]
        assert rows[0].file and "Observation" in rows[0].file
        assert sync.store.read("Observation", "too-big") is None


@pytest.mark.slow
@pytest.mark.parametrize("fhir_source", sources(), indirect=True)
def test_census_mode_on_a_server_that_matches_no_bare_ids_loses_nothing(
    fhir_source: FhirSource, tmp_path: Path
):
    fhir_source.proxy.forwarder.bare_ids_match_nothing = True
    census = sorted(
        {
            enc["subject"]["reference"].split("/", 1)[1]
            for enc in fhir_source.admin.search("Encounter", status="in-progress")
        }
    )
    with sync_against(fhir_source, tmp_path, sync_seed_mode="none") as sync:
        sync.run_round()
        for i in range(8):  # 8 changes to patients on the census
            fhir_source.admin.put(observation(f"census-obs-{i}", census[i % len(census)]))
        for _ in range(2):
            sync.run_round()
        arrived = [i for i in range(8) if sync.store.read("Observation", f"census-obs-{i}")]
        assert arrived == list(range(8))
        for pid in census:  # every census patient's record came whole
            assert sync.store.read("Patient", pid) is not None, pid
