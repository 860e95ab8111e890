"""What the source says it can do: its CapabilityStatement (`GET /metadata`,
https://hl7.org/fhir/R4/capabilitystatement.html) and SMART configuration
(`/.well-known/smart-configuration`), read before the seed so that the plan (plan.py) uses
what the server offers and says what it does without.

`read_capabilities(statement, smart)` is pure (data in, data out); `discover(client)` does
the two GETs. A server whose `/metadata` cannot be read gives `ServerCapabilities.unknown`:
everything is assumed offered, so the sync behaves as it did before it looked, and the
plan says it could not look.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from standby.sync.http import FhirClient, SourceError, SourceUnreachable

log = logging.getLogger("standby.sync.capabilities")

COMBINATION_EXT = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
#: Parameters that do not narrow a search to a patient or a subset: a search needing no
#: more than these is a type-wide search.
_NOT_NARROWING = {"_lastUpdated", "_count", "_sort", "_total", "_summary", "_elements"}


@dataclass(frozen=True)
class TypeCapability:
    """One resource type as the server offers it."""

    interactions: frozenset[str]
    search_params: frozenset[str]
    required: tuple[frozenset[str], ...] = ()  # accepted required-parameter sets; () any

    @property
    def searchable(self) -> bool:
        return "search-type" in self.interactions

    @property
    def type_wide(self) -> bool:
        """Whether the type can be searched whole (by `_lastUpdated` alone)."""
        if not self.searchable:
            return False
        return not self.required or any(r <= _NOT_NARROWING for r in self.required)

    def patient_param(self) -> str | None:
        """`patient` or `subject`, whichever the server lists (None: neither)."""
        for name in ("patient", "subject"):
            if name in self.search_params:
                return name
        return None

    @property
    def history(self) -> bool:
        return "history-type" in self.interactions


@dataclass(frozen=True)
class ServerCapabilities:
    """What the source offers. `known` False: it could not be read (`problem` says why)."""

    known: bool
    types: Mapping[str, TypeCapability] = field(default_factory=dict)
    export_levels: frozenset[str] = frozenset()  # system, patient, group
    system_history: bool = False
    smart_token_url: str | None = None
    software: str | None = None
    problem: str | None = None
    retry: bool = False  # unknown because the source did not answer: ask again later

    @classmethod
    def unknown(cls, problem: str, *, retry: bool = False) -> ServerCapabilities:
        return cls(known=False, problem=problem, retry=retry)

    def offers(self, rtype: str) -> bool:
        return not self.known or rtype in self.types

    def can_search(self, rtype: str) -> bool:
        return not self.known or (rtype in self.types and self.types[rtype].searchable)

    def type_wide(self, rtype: str) -> bool:
        return not self.known or (rtype in self.types and self.types[rtype].type_wide)

    def patient_param(self, rtype: str) -> str | None:
        """The parameter that scopes a search of `rtype` to patients (`patient` first);
        `patient` when the server did not list its parameters."""
        if not self.known or rtype not in self.types or not self.types[rtype].search_params:
            return "patient"
        return self.types[rtype].patient_param()

    def searches(self, rtype: str, param: str) -> bool:
        """Whether `rtype` can be searched by `param` (assumed when the server did not list
        its parameters)."""
        if not self.known or rtype not in self.types or not self.types[rtype].search_params:
            return self.can_search(rtype)
        return param in self.types[rtype].search_params

    def history(self, rtype: str) -> bool:
        return not self.known or (rtype in self.types and self.types[rtype].history)

    @property
    def export(self) -> bool:
        return not self.known or bool(self.export_levels)


def _required_sets(resource: Mapping[str, Any]) -> tuple[frozenset[str], ...]:
    out: list[frozenset[str]] = []
    for ext in resource.get("extension") or []:
        if not isinstance(ext, dict) or ext.get("url") != COMBINATION_EXT:
            continue
        names = [
            str(x.get("valueString"))
            for x in ext.get("extension") or []
            if isinstance(x, dict) and x.get("url") == "required" and x.get("valueString")
        ]
        out.append(frozenset(names))
    return tuple(out)


def _is_export(op: Any) -> bool:
    if not isinstance(op, dict):
        return False
    name = str(op.get("name", "")).lstrip("$")
    return name == "export" or str(op.get("definition", "")).endswith("/export")


def read_capabilities(
    statement: Mapping[str, Any], smart: Mapping[str, Any] | None = None
) -> ServerCapabilities:
    """The capabilities a CapabilityStatement (and a SMART configuration) declare."""
    if statement.get("resourceType") != "CapabilityStatement":
        return ServerCapabilities.unknown(
            f"/metadata answered a {statement.get('resourceType') or 'non-FHIR body'},"
            " not a CapabilityStatement"
        )
    rests = [r for r in statement.get("rest") or [] if isinstance(r, dict)]
    rest = next((r for r in rests if r.get("mode") == "server"), rests[0] if rests else {})
    types: dict[str, TypeCapability] = {}
    levels: set[str] = set()
    if any(_is_export(op) for op in rest.get("operation") or []):
        levels.add("system")
    for res in rest.get("resource") or []:
        if not isinstance(res, dict) or not res.get("type"):
            continue
        rtype = str(res["type"])
        types[rtype] = TypeCapability(
            interactions=frozenset(
                str(i.get("code")) for i in res.get("interaction") or [] if isinstance(i, dict)
            ),
            search_params=frozenset(
                str(p.get("name")) for p in res.get("searchParam") or [] if isinstance(p, dict)
            ),
            required=_required_sets(res),
        )
        if rtype in ("Patient", "Group") and any(
            _is_export(op) for op in res.get("operation") or []
        ):
            levels.add(rtype.lower())
    if not levels and BULK_DATA in (statement.get("instantiates") or []):
        levels.add("system")  # declared by reference to the Bulk Data CapabilityStatement
    system_history = any(
        isinstance(i, dict) and i.get("code") == "history-system"
        for i in rest.get("interaction") or []
    )
    software = statement.get("software")
    token = None
    if smart:
        token = (
            smart.get("token_endpoint") if isinstance(smart.get("token_endpoint"), str) else None
        )
    return ServerCapabilities(
        known=True,
        types=types,
        export_levels=frozenset(levels),
        system_history=system_history,
        smart_token_url=token,
        software=str(software.get("name")) if isinstance(software, dict) else None,
    )


def discover(client: FhirClient) -> ServerCapabilities:
    """GET `/metadata` and the SMART configuration; `unknown` (with the reason) when the
    CapabilityStatement cannot be read. Every failure is logged; the caller records it."""
    try:
        statement = client.get_json("metadata")
    except SourceError as e:
        log.info("cannot read the CapabilityStatement: %s", e)
        retry = isinstance(e, SourceUnreachable)
        return ServerCapabilities.unknown(f"GET /metadata failed: {e}", retry=retry)
    smart: dict[str, Any] | None = None
    try:
        smart = client.get_json(".well-known/smart-configuration")
    except SourceError as e:  # optional: servers without SMART have none
        log.info("no SMART configuration: %s", e)
    return read_capabilities(statement, smart)
