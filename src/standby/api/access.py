"""Who may read what, and the audit line of every read.

A request's grant (`smart.Grant`, put in `request.state.grant` by the app's guard) is
checked per resource type: `r` for read, vread and instance history, `s` for search and
type or system history. Resources of other types that an answer would carry are left out
when the grant does not cover their type: `r` for those it reaches by reference
(`_include`, what `$everything`'s compartment points at), `s` for those it finds
(`_revinclude`, the compartment's members in `$everything`).

Every answer that carries patient data is audited like a page view of the viewer: one line
per patient in it (`accounts.repository` audit log, action `fhir-read`), the client as the
user, the request's path and query as the page; an answer with no patient's data (a
Practitioner, a Location) gets one line without a patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from standby.accounts.records import AuditEvent
from standby.api.responses import api, grant
from standby.clock import instant
from standby.fhir.outcomes import FhirError
from standby.fhir.search_params import (
    COMPARTMENT_PATHS,
    REFERENCE,
    patient_compartment,
    resolve_param,
)
from standby.store.base import Store, StoredResource
from standby.store.group_commit import Alongside

AUDIT_ACTION = "fhir-read"
AUDIT_ROLE = "fhir-client"


def require(request: Request, resource_type: str, letter: str) -> None:
    """403 + OperationOutcome unless the grant covers `letter` on `resource_type`."""
    g = grant(request)
    if not g.allows(resource_type, letter):
        what = {"r": "read", "s": "search"}[letter]
        raise FhirError(
            "forbidden",
            f"the client's scope ({g.scope}) does not allow {what} of {resource_type}"
            f" (needs system/{resource_type}.read or system/{resource_type}.{letter})",
        )


def readable(request: Request, resource_type: str) -> bool:
    return grant(request).allows(resource_type, "r")


def searchable(request: Request, resource_type: str) -> bool:
    return grant(request).allows(resource_type, "s")


def patient_of(resource: dict[str, Any] | StoredResource) -> str | None:
    """The patient whose data `resource` is (a stored Patient's is its id: not parsed)."""
    if isinstance(resource, StoredResource):
        if resource.resource_type == "Patient":
            return resource.id
        resource = resource.json()
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) else None
    return patient_compartment(resource)


def named_patients(
    store: Store, rtype: str, criteria: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The Patients a search's criteria name (`patient=X`, `subject=Patient/X`,
    `subject:Patient=X`, `Patient?_id=X`) that the replica holds, as stubs for `record`:
    an answer tells of them even when it carries none of their resources (a count, or an
    empty page: `Condition?patient=X&code=<a diagnosis>&_summary=count` says whether X has
    it), so it is audited as a read of their data."""
    ids: list[str] = []
    for key, value in criteria:
        name, _, modifier = key.partition(":")
        if rtype == "Patient" and name == "_id":
            ids += value.split(",")
            continue
        resolved = resolve_param(rtype, name)
        if resolved is None or resolved[1][0] != REFERENCE:
            continue
        compartment = any(p in COMPARTMENT_PATHS for p in resolved[1][1])
        for ref in value.split(","):
            typ, _, rid = ref.rstrip("/").rpartition("/")
            if typ.endswith("Patient") or (
                not typ and (resolved[2] == "Patient" or modifier == "Patient" or compartment)
            ):
                ids.append(rid)
    held = []
    for pid in dict.fromkeys(i for i in ids if i):
        sr = store.read("Patient", pid)
        if sr is not None and not sr.deleted:
            held.append({"resourceType": "Patient", "id": pid})
    return held


def record(
    request: Request,
    resources: Iterable[dict[str, Any] | StoredResource],
    detail: str,
    beside: Iterable[Alongside] = (),
) -> None:
    """The audit lines of one answer, and the rows `beside` them (a paging snapshot) in the
    same transaction; returns once they are committed."""
    ctx = api(request)
    url = request.url
    page = (url.path + (f"?{url.query}" if url.query else ""))[:500]
    at = instant(ctx.clock())
    client = grant(request).client_id
    address = request.client.host if request.client else "unknown"
    patients: list[str | None] = list(dict.fromkeys(p for r in resources if (p := patient_of(r))))
    ctx.audit(
        [
            *beside,
            *(
                AuditEvent(at, client, AUDIT_ROLE, AUDIT_ACTION, pid, page, address, detail[:500])
                for pid in (patients or [None])
            ),
        ]
    )
