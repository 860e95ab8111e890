"""The CapabilityStatement at /metadata (FHIR R4 capabilitystatement.html), listing only
what this server implements: the interactions of rest.py, each type's search parameters
as the store indexes them (standby.fhir.search_registry), `$export`, and SMART security."""

from __future__ import annotations

from typing import Any

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_registry import SPECIAL_PARAMS, params_for

_KIND_TYPE = {"token": "token", "string": "string", "date": "date", "reference": "reference"}
EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"


def capability_statement(base: str, *, auth: bool, now: str) -> dict[str, Any]:
    resources = []
    for rtype in sorted(RESOURCE_TYPES):
        params = [{"name": n, "type": "token" if n == "_id" else "date"} for n in SPECIAL_PARAMS]
        for name, (kind, _paths) in sorted(params_for(rtype).items()):
            params.append({"name": name, "type": _KIND_TYPE.get(kind, kind)})
        r: dict[str, Any] = {
            "type": rtype,
            "versioning": "versioned-update",
            "readHistory": True,
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
                    "history-instance",
                    "history-type",
                    "create",
                    "search-type",
                )
            ],
            "searchParam": params,
        }
        if rtype in ("Patient", "Group"):
            r["operation"] = [{"name": "export", "definition": EXPORT_DEF}]
        resources.append(r)
    rest: dict[str, Any] = {
        "mode": "server",
        "resource": resources,
        "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
        "operation": [{"name": "export", "definition": EXPORT_DEF}],
    }
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
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now,
        "kind": "instance",
        "software": {"name": "Standby simulated EHR"},
        "implementation": {"description": "Standby simulated EHR", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "rest": [rest],
    }
