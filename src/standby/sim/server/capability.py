"""The CapabilityStatement at /metadata (FHIR R4 capabilitystatement.html), listing only
what this server implements: the interactions of rest.py, each type's search parameters
as the store indexes them (standby.fhir.search_registry), `$export`, and SMART security,
less what the strict modes take away (strict.py): a client reading it learns the truth."""

from __future__ import annotations

from typing import Any

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_registry import ALIASES, SPECIAL_PARAMS, params_for
from standby.sim.server.strict import COMBINATION_EXT, Strictness, combinations

_KIND_TYPE = {"token": "token", "string": "string", "date": "date", "reference": "reference"}
EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"


def _combination(required: tuple[str, ...]) -> dict[str, Any]:
    return {
        "url": COMBINATION_EXT,
        "extension": [{"url": "required", "valueString": n} for n in required],
    }


def capability_statement(
    base: str, *, auth: bool, now: str, strict: Strictness | None = None
) -> dict[str, Any]:
    strict = strict or Strictness()
    history = () if strict.no_history else ("history-instance", "history-type")
    resources = []
    for rtype in sorted(RESOURCE_TYPES):
        params = [{"name": n, "type": "token" if n == "_id" else "date"} for n in SPECIAL_PARAMS]
        table = params_for(rtype)
        for name, (kind, _paths) in sorted(table.items()):
            params.append({"name": name, "type": _KIND_TYPE.get(kind, kind)})
        for name, (target, _rtype) in sorted(ALIASES.get(rtype, {}).items()):
            if name not in table and target in table:  # searched through another's rows
                params.append({"name": name, "type": _KIND_TYPE.get(table[target][0], "")})
        r: dict[str, Any] = {
            "type": rtype,
            "versioning": "versioned-update",
            "readHistory": not strict.no_history,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "interaction": [
                {"code": c}
                for c in (
                    "read",
                    "vread",
                    "update",
                    "delete",
                    *history,
                    "create",
                    "search-type",
                )
            ],
            "searchParam": params,
        }
        combos = combinations(rtype) if strict.no_type_search else ()
        if combos:
            r["extension"] = [_combination(c) for c in combos]
        if rtype in ("Patient", "Group") and not strict.no_export:
            r["operation"] = [{"name": "export", "definition": EXPORT_DEF}]
        resources.append(r)
    rest: dict[str, Any] = {
        "mode": "server",
        "resource": resources,
        "interaction": [
            {"code": c}
            for c in (
                *(() if strict.no_transaction else ("transaction",)),
                "batch",
                *(() if strict.no_history else ("history-system",)),
            )
        ],
    }
    if not strict.no_export:
        rest["operation"] = [{"name": "export", "definition": EXPORT_DEF}]
    if auth:
        rest["security"] = {
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ]
                }
            ],
            "extension": [
                {
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": f"{base}/auth/token"}],
                }
            ],
        }
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now,
        "kind": "instance",
        "software": {"name": "Standby simulated EHR"},
        "implementation": {"description": "Standby simulated EHR", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }
    if not strict.no_export:
        statement["instantiates"] = [
            "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
        ]
    return statement
