"""The plan from a CapabilityStatement (pure: no server)."""

from __future__ import annotations

from typing import Any

from standby.settings import Settings
from standby.sync.capabilities import COMBINATION_EXT, ServerCapabilities, read_capabilities
from standby.sync.census import CensusConfig, patient_search
from standby.sync.plan import make_plan
from standby.sync.runner import census_config, sync_plan

SEARCH = [{"code": "read"}, {"code": "search-type"}]


def resource(rtype: str, params: tuple[str, ...] = ("patient",), **extra: Any) -> dict[str, Any]:
    return {
        "type": rtype,
        "interaction": SEARCH,
        "searchParam": [{"name": n, "type": "reference"} for n in params],
        **extra,
    }


def statement(*resources: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "software": {"name": "Some EHR"},
        "rest": [{"mode": "server", "resource": list(resources), **rest}],
    }


def needs(*names: str) -> dict[str, Any]:
    return {
        "url": COMBINATION_EXT,
        "extension": [{"url": "required", "valueString": n} for n in names],
    }


def test_default_types_follow_us_core_and_the_read_model() -> None:
    types = set(Settings().sync_patient_types)
    assert {
        "Medication",
        "Procedure",
        "DiagnosticReport",
        "Immunization",
        "MedicationStatement",
        "MedicationDispense",
    } <= types | set(Settings().sync_shared_types)


def test_types_are_reduced_to_what_the_source_offers_and_subject_is_used_where_listed() -> None:
    caps = read_capabilities(
        statement(
            resource("Patient", ("_id",)),
            resource("Encounter", ("patient", "subject")),
            resource("Observation", ("subject",)),
            resource("Location", ("name",)),
        )
    )
    settings = Settings(sync_patient_types=["Patient", "Encounter", "Observation", "Immunization"])
    plan = sync_plan(settings, caps)
    assert plan.patient_types == ("Patient", "Encounter", "Observation")
    assert "Immunization" in plan.unavailable[0][0]
    assert "not copied" in plan.unavailable[0][1]
    cfg = census_config(settings, plan)
    req = patient_search(cfg, "Observation", ["a", "b"], "pull:a,b", None)
    assert ("subject", "Patient/a,Patient/b") in req.params
    enc = patient_search(cfg, "Encounter", ["a"], "pull:a", None)
    assert ("patient", "Patient/a") in enc.params


def test_seed_choice_follows_the_capability_statement() -> None:
    export_op = {"operation": [{"name": "export", "definition": "x/OperationDefinition/export"}]}
    with_export = read_capabilities(statement(resource("Observation"), **export_op))
    no_export = read_capabilities(statement(resource("Observation")))
    per_patient = read_capabilities(
        statement(resource("Observation", extension=[needs("patient"), needs("subject")]))
    )
    kw: dict[str, Any] = {
        "seed_mode": "auto",
        "sync_mode": "census",
        "patient_types": ["Observation"],
        "shared_types": [],
    }
    assert make_plan(with_export, **kw).seed == "bulk"
    assert make_plan(no_export, **kw).seed == "search"
    plan = make_plan(per_patient, **kw)
    assert plan.seed == "census"
    costs = dict(plan.unavailable)
    assert "only census patients are copied" in costs["type-wide search of Observation"]
    assert "slower" in costs["Bulk Data $export"]
    assert "_history" in costs
    assert make_plan(per_patient, **{**kw, "seed_mode": "bulk"}).seed == "bulk"  # asked: wins


def test_a_source_whose_capabilities_are_unknown_is_assumed_to_offer_all() -> None:
    caps = ServerCapabilities.unknown("GET /metadata failed: HTTP 404")
    plan = sync_plan(Settings(), caps)
    assert plan.seed == "bulk" and not plan.unavailable
    assert plan.patient_types == tuple(Settings().sync_patient_types)
    assert "UNKNOWN" in "\n".join(plan.lines())
    assert read_capabilities({"resourceType": "Bundle"}).known is False


def test_census_searches_send_typed_references_by_default() -> None:
    cfg = CensusConfig(patient_types=("Observation",), shared_types=())
    req = patient_search(cfg, "Observation", ["1", "2"], "pull:1,2", None)
    assert ("patient", "Patient/1,Patient/2") in req.params
