"""FHIR references: https://hl7.org/fhir/R4/references.html

Pure functions that turn a `Reference.reference` (relative `Patient/123`, absolute
`https://ehr/fhir/Patient/123`, versioned `Patient/123/_history/2`) into `(type, id)`.
"""

from __future__ import annotations

from typing import Any

from standby.fhir.resource_types import RESOURCE_TYPES


def parse_reference(ref: str) -> tuple[str | None, str] | None:
    """`(type, id)` of a literal reference; type None for a bare id; None for a fragment
    (`#contained`), a URN (`urn:uuid:...`) or an empty string."""
    if not ref or ref.startswith("#") or ref.startswith("urn:"):
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] in RESOURCE_TYPES:
        return parts[-2], parts[-1]
    if len(parts) == 1:
        return None, parts[0]
    return None


def reference_target(value: Any) -> tuple[str | None, str] | None:
    """`(type, id)` of a Reference element (dict), using `type` when the reference is bare."""
    if not isinstance(value, dict):
        return None
    ref = value.get("reference")
    if not isinstance(ref, str):
        return None
    parsed = parse_reference(ref)
    if parsed is None:
        return None
    rtype, rid = parsed
    if rtype is None and isinstance(value.get("type"), str):
        rtype = value["type"]
    return rtype, rid
