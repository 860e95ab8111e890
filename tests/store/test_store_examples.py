"""Every clinical example of FHIR R4 (npm hl7.fhir.r4.examples 4.0.1) goes into both engines
and comes back JSON-equal, decimals included."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store.base import Store

TGZ = Path(__file__).resolve().parents[2] / ".cache" / "hl7.fhir.r4.examples-4.0.1.tgz"

CONFORMANCE = {
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "CapabilityStatement",
    "SearchParameter",
    "OperationDefinition",
    "ConceptMap",
    "NamingSystem",
    "ImplementationGuide",
    "CompartmentDefinition",
    "GraphDefinition",
    "MessageDefinition",
    "StructureMap",
    "TerminologyCapabilities",
    "ExampleScenario",
}
BIG_BUNDLE = 1_000_000  # the definition bundles (profiles, types, valuesets, ...) are larger


def clinical_examples() -> Iterator[tuple[str, bytes]]:
    """(file name, raw JSON) of every clinical example, one per (type, id)."""
    seen: set[tuple[str, str]] = set()
    with tarfile.open(TGZ) as tar:
        for member in tar:
            name = member.name
            if not member.isfile() or not name.endswith(".json") or "/." in name:
                continue
            if name.startswith("package/Bundle-") and member.size > BIG_BUNDLE:
                continue
            fh = tar.extractfile(member)
            assert fh is not None
            raw = fh.read()
            res = json.loads(raw)
            rtype, rid = res.get("resourceType"), res.get("id")
            if rtype not in RESOURCE_TYPES or rtype in CONFORMANCE or not isinstance(rid, str):
                continue
            if (rtype, rid) in seen:
                continue
            seen.add((rtype, rid))
            yield name, raw


def test_every_clinical_example_round_trips(store: Store) -> None:
    if not TGZ.exists():
        pytest.fail(f"{TGZ} is missing: run `make {TGZ.relative_to(TGZ.parents[1])}`")
    examples = list(clinical_examples())
    assert len(examples) > 600  # 709 clinical examples in 4.0.1
    for k in range(0, len(examples), 200):
        store.upsert_many([raw for _, raw in examples[k : k + 200]])
    for name, raw in examples:
        want = json.loads(raw, parse_float=Decimal)
        got = store.read(want["resourceType"], want["id"])
        assert got is not None, name
        assert json.loads(got.body, parse_float=Decimal) == want, name
    assert sum(store.counts_by_type().values()) == len(examples)
