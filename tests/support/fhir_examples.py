"""The clinical examples of FHIR R4 (npm hl7.fhir.r4.examples 4.0.1, fetched by `make` into
.cache): real data shapes that no one here wrote."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from standby.fhir.resource_types import RESOURCE_TYPES

TGZ = Path(__file__).resolve().parents[2] / ".cache" / "hl7.fhir.r4.examples-4.0.1.tgz"

# the conformance resources of the package: not what a hospital's EHR holds
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


@cache  # read out of the whole package's archive: once per file
def example(file_name: str) -> bytes:
    """One example of the package as it is, by file name (`DocumentReference-example.json`)."""
    with tarfile.open(TGZ) as tar:
        fh = tar.extractfile(f"package/{file_name}")
        assert fh is not None
        return fh.read()
