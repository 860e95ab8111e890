"""`GET /fhir/metadata` and `/fhir/.well-known/smart-configuration`: what this API does,
and nothing it does not (capabilitystatement.html; SMART App Launch's
conformance/well-known discovery).

Read-only: every resource type lists read, vread, history-instance, history-type and
search-type and no write interaction, conditional read (`If-None-Match`,
`If-Modified-Since`); its search parameters are exactly those the store indexes
(`fhir.search_registry`, aliases included), with the modifiers the store implements in
each parameter's documentation; `searchInclude` names every indexed reference parameter of
the type, `searchRevInclude` every one of any type that can point at it in R4; operations
are listed where they are served (system: `$export`; Patient: `$everything`, `$export`,
`$summary`; Group: `$export`); JSON is the only format. The security section points at the
token endpoint (SMART Backend Services, `smart.py`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_registry import ALIASES, REFERENCE, STRING, params_for

EVERYTHING_DEF = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
GROUP_EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
SUMMARY_DEF = "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"
_MODIFIERS = {
    STRING: "modifiers: :exact, :contains",
    REFERENCE: "modifiers: :[type]; values Type/id, id or a full URL; no chaining",
}
_SPECIAL = [
    {"name": "_id", "type": "token", "documentation": "one or more ids, comma-separated"},
    {"name": "_lastUpdated", "type": "date", "documentation": "prefixes eq ne gt ge lt le sa eb"},
]


def search_params(rtype: str) -> list[tuple[str, str]]:
    """(name, kind) of every parameter searchable on `rtype`, aliases included."""
    table = params_for(rtype)
    out = [(name, kind) for name, (kind, _paths) in table.items()]
    for name, (target, _target_type) in ALIASES.get(rtype, {}).items():
        if name not in table and target in table:
            out.append((name, table[target][0]))
    return sorted(out)


def _param(name: str, kind: str) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "type": kind}
    doc = _MODIFIERS.get(kind) or ("prefixes eq ne gt ge lt le sa eb" if kind == "date" else "")
    if kind == "token":
        doc = "system|code, code or system|"
    if doc:
        p["documentation"] = doc
    return p


@cache
def reference_targets() -> dict[str, dict[str, tuple[str, ...] | None]]:
    """Type → reference parameter → the types it can point at in R4 (None: any resource;
    empty: none, the element does not exist on that type). Made from R4 4.0.1's
    StructureDefinitions (`r4_targets.json`; `tests/api/test_api_capability.py` checks it)."""
    raw = json.loads(files("standby.api").joinpath("r4_targets.json").read_text())
    return {
        t: {n: None if v is None else tuple(v) for n, v in row.items()} for t, row in raw.items()
    }


def revincludes(rtype: str) -> list[str]:
    """Every `Other:param` whose references can point at `rtype` (searchRevInclude)."""
    return sorted(
        f"{other}:{name}"
        for other, row in reference_targets().items()
        for name, targets in row.items()
        if targets is None or rtype in targets
    )


@cache
def _resources() -> tuple[dict[str, Any], ...]:
    resources = []
    for rtype in sorted(RESOURCE_TYPES):
        params = search_params(rtype)
        refs = [n for n, k in params if k == REFERENCE]
        r: dict[str, Any] = {
            "type": rtype,
            "interaction": [
                {"code": c}
                for c in ("read", "vread", "history-instance", "history-type", "search-type")
            ],
            "versioning": "versioned",
            "readHistory": True,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalRead": "full-support",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchInclude": [f"{rtype}:{n}" for n in refs],
            "searchRevInclude": revincludes(rtype),
            "searchParam": [*_SPECIAL, *(_param(n, k) for n, k in params)],
        }
        if rtype == "Patient":
            r["operation"] = [
                {"name": "everything", "definition": EVERYTHING_DEF},
                {"name": "export", "definition": PATIENT_EXPORT_DEF},
                {"name": "summary", "definition": SUMMARY_DEF},
            ]
        if rtype == "Group":
            r["operation"] = [{"name": "export", "definition": GROUP_EXPORT_DEF}]
        resources.append(r)
    return tuple(resources)


def capability_statement(base: str, *, now: str, software_version: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now,
        "publisher": "Standby",
        "kind": "instance",
        "description": "Standby's read-only downtime replica of the EHR. It accepts no writes:"
        " during a downtime, document in Standby's viewer; afterwards, in the EHR.",
        "software": {"name": "Standby", "version": software_version},
        "implementation": {"description": "Standby read-only FHIR R4 API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Search results page from a snapshot taken at the"
                " first page (Bundle.link next), stable while the replica changes. Chained"
                " parameters (subject.name, subject:Patient.name) and _has are refused (400).",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                            "oauth-uris",
                            "extension": [{"url": "token", "valueUri": f"{base}/auth/token"}],
                        }
                    ],
                    "description": "SMART Backend Services (client_credentials, private_key_jwt"
                    " RS384/ES384); scopes system/<Type>.read or system/<Type>.rs per type.",
                },
                "resource": list(_resources()),
                "interaction": [{"code": "history-system"}],
                # system level: only what `[base]/$name` answers ($everything is Patient's)
                "operation": [{"name": "export", "definition": EXPORT_DEF}],
            }
        ],
    }


def smart_configuration(base: str) -> dict[str, Any]:
    return {
        "token_endpoint": f"{base}/auth/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["system/*.read", "system/*.rs"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }
