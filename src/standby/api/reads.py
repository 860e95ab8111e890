"""read, vread, `_history` and `Patient/$everything` (https://hl7.org/fhir/R4/http.html,
https://hl7.org/fhir/R4/patient-operation-everything.html).

* read and vread send the stored bytes as the EHR sent them, with `ETag`, `Last-Modified`
  and `Content-Location` (the versioned URL); `If-None-Match` (else `If-Modified-Since`)
  naming the version sent answers 304; a deleted resource answers 410.
* `_history` of an instance lists every version the replica holds, newest first. Type and
  system history list every version held (current, previous, deletes as DELETE entries)
  whose lastUpdated is at or after `_since`, newest first; paged below the change sequence
  of the last entry sent (`_getpagesbefore`): new changes get higher sequences, so paging
  is stable while the sync writes.
* `$everything`: the patient's compartment, plus the resources it references that are in
  no patient's compartment (Medication, Practitioner, Location, Organization, ...), one
  Bundle; `_type` narrows it, `_since` keeps what changed after an instant.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.api import access
from standby.api.responses import (
    AS_OF_HEADER,
    api,
    base_url,
    fhir_response,
    grant,
    instant_param,
    resource_headers,
    tag_as_of,
    whole_number,
)
from standby.api.search import check_type, page_count
from standby.clock import parse_instant
from standby.fhir import bundles
from standby.fhir.outcomes import FhirError
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_params import extract
from standby.store.base import StoredResource

#: The `next` link's cursor of type and system history: the change sequence to page below.
BEFORE = "_getpagesbefore"


async def read(request: Request) -> Response:
    rtype, rid = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    access.require(request, rtype, "r")
    store = api(request).store

    def run() -> StoredResource:  # one trip to a worker thread: the read and its audit line
        sr = store.read(rtype, rid)
        if sr is None:
            raise FhirError("not-found", f"{rtype}/{rid} is not in the replica")
        if sr.deleted:
            raise FhirError(
                "deleted",
                f"{rtype}/{rid} was deleted (version {sr.version_id})",
                headers={"ETag": f'W/"{sr.version_id}"'},
            )
        access.record(request, [sr], f"read {rtype}/{rid}")
        return sr

    sr = await run_in_threadpool(run)
    return _answer(request, sr)


def _answer(request: Request, sr: StoredResource) -> Response:
    """The resource with `ETag`, `Last-Modified` and `Content-Location` (its versioned
    URL), or 304 when the client's copy is this version (http.html#cread: `If-None-Match`,
    else `If-Modified-Since`)."""
    headers = {
        **resource_headers(sr),
        "Content-Location": f"{base_url(request)}/{sr.resource_type}/{sr.id}"
        f"/_history/{sr.version_id}",
    }
    if _not_modified(request, sr, headers["Last-Modified"]):
        as_of = api(request).as_of() or "unknown"
        return Response(status_code=304, headers={**headers, AS_OF_HEADER: as_of})
    return fhir_response(request, sr.body, headers=headers)


def _not_modified(request: Request, sr: StoredResource, last_modified: str) -> bool:
    none_match = request.headers.get("if-none-match")
    if none_match is not None:  # weak comparison (RFC 9110 13.1.2): W/"2" matches "2"
        tags = {t.strip().removeprefix("W/") for t in none_match.split(",")}
        return "*" in tags or f'"{sr.version_id}"' in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        asked = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date: send the resource
    # RFC 9110 5.6.7: an HTTP-date is UTC; the obsolete forms (asctime's, RFC 850's with
    # -0000) parse without an offset, and compared with an aware one raised TypeError
    if asked.tzinfo is None:
        asked = asked.replace(tzinfo=UTC)
    return parsedate_to_datetime(last_modified) <= asked


async def vread(request: Request) -> Response:
    p = request.path_params
    check_type(p["type"])
    access.require(request, p["type"], "r")
    store = api(request).store
    sr = await run_in_threadpool(store.vread, p["type"], p["id"], p["vid"])
    if sr is None:
        raise FhirError("not-found", f"{p['type']}/{p['id']} has no version {p['vid']}")
    if sr.deleted:
        raise FhirError("deleted", f"version {p['vid']} of {p['type']}/{p['id']} is a delete")
    await run_in_threadpool(
        access.record, request, [sr.json()], f"vread {p['type']}/{p['id']}/{p['vid']}"
    )
    return _answer(request, sr)


def _since(request: Request) -> str | None:
    return instant_param("_since", request.query_params.get("_since"))


def _entry(base: str, sr: StoredResource, first: bool) -> dict[str, object]:
    return bundles.history_entry(
        f"{base}/{sr.resource_type}/{sr.id}",
        orjson.Fragment(sr.body) if sr.body else None,
        resource_type=sr.resource_type,
        id=sr.id,
        version_id=sr.version_id,
        last_updated=sr.last_updated,
        deleted=sr.deleted,
        first_version=first,
    )


def _only(request: Request, allowed: set[str], what: str) -> None:
    """A parameter the interaction does not take is a 400, never ignored: ignoring it would
    answer with more than was asked for."""
    unknown = sorted({k for k in request.query_params if k not in allowed})
    if unknown:
        raise FhirError(
            "not-supported",
            f"{what} takes {', '.join(sorted(allowed - FORMAT_PARAMS))} only,"
            f" not {', '.join(unknown)}",
        )


async def history_instance(request: Request) -> Response:
    rtype, rid = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    access.require(request, rtype, "r")
    # every version held is one page (a resource's versions are few and pruned by age)
    _only(request, {"_since", "_count", *FORMAT_PARAMS}, "the history of a resource")
    ctx = api(request)
    versions = await run_in_threadpool(ctx.store.history, rtype, rid)
    if not versions:
        raise FhirError("not-found", f"{rtype}/{rid} is not in the replica")
    since = _since(request)
    # the answer, even with no version since `_since`, tells that the resource is held:
    # audited for the patient of its current version
    current = versions[0]
    if since:
        t = parse_instant(since)
        versions = [v for v in versions if (parse_instant(v.last_updated) or t) >= t]
    base = base_url(request)
    oldest = versions[-1].version_id if versions else None
    entries = [_entry(base, v, v.version_id == oldest) for v in versions]
    bundle = bundles.history(entries, links=[("self", str(request.url))], total=len(entries))
    await run_in_threadpool(
        access.record, request, [current.json(), *(v.json() for v in versions)],
        f"history {rtype}/{rid}",
    )  # fmt: skip
    return fhir_response(request, tag_as_of(bundle, ctx.as_of()))


async def history_type(request: Request) -> Response:
    rtype = request.path_params["type"]
    check_type(rtype)
    access.require(request, rtype, "s")
    return await _changes(request, [rtype], f"{base_url(request)}/{rtype}/_history")


async def history_system(request: Request) -> Response:
    g = grant(request)
    types = sorted(t for t in RESOURCE_TYPES if g.allows(t, "s"))
    if not types:
        raise FhirError("forbidden", f"the client's scope ({g.scope}) allows no search")
    every = len(types) == len(RESOURCE_TYPES)
    return await _changes(request, None if every else types, f"{base_url(request)}/_history")


FORMAT_PARAMS = {"_format", "_pretty"}


async def _changes(request: Request, types: list[str] | None, self_url: str) -> Response:
    """Every version changed at or after `_since`, newest first (http.html#history: "oldest
    versions last"), paged below the change sequence of the last entry sent: what changes
    while a client pages gets a higher sequence, so later pages are not shifted."""
    ctx = api(request)
    _only(request, {"_since", "_count", BEFORE, *FORMAT_PARAMS}, "_history")
    since = _since(request)
    count = max(1, page_count(list(request.query_params.multi_items())))
    before_raw = request.query_params.get(BEFORE)
    before = whole_number(BEFORE, before_raw) if before_raw is not None else None
    changes = await run_in_threadpool(
        lambda: ctx.store.versions_since(since, types=types, limit=count + 1, before_seq=before)
    )
    more = len(changes) > count
    changes = changes[:count]
    base = base_url(request)
    entries = [_entry(base, sr, sr.version_id == "1") for _, sr in changes]
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != BEFORE]
    links = [("self", str(request.url))]
    if more:
        links.append(("next", f"{self_url}?{urlencode([*keep, (BEFORE, str(changes[-1][0]))])}"))
    bundle = bundles.history(entries, links=links, total=None)
    await run_in_threadpool(access.record, request, [sr.json() for _, sr in changes], "history")
    return fhir_response(request, tag_as_of(bundle, ctx.as_of()))


async def everything(request: Request) -> Response:
    pid = request.path_params["id"]
    access.require(request, "Patient", "r")
    # `start` and `end` (the care dates R4 lets narrow it) are not supported: 400, not
    # ignored; `_count` is accepted, the answer is one Bundle whatever it says
    _only(request, {"_type", "_since", "_count", *FORMAT_PARAMS}, "$everything")
    ctx = api(request)
    types_raw = request.query_params.get("_type")
    types = [t for t in (types_raw or "").split(",") if t] or None
    for t in types or []:
        check_type(t)
    since = _since(request)

    def run() -> list[StoredResource]:
        patient = ctx.store.read("Patient", pid)
        if patient is None or patient.deleted:
            raise FhirError("not-found", f"Patient/{pid} is not in the replica")
        found = ctx.store.compartment(pid)
        held = {(r.resource_type, r.id) for r in found}
        # the compartment's members are found (a search of their types: `s`); what they
        # point at is reached by reference (`r`), as `_include` does
        reached: set[tuple[str, str]] = set()
        for r in list(found):  # the resources they point at outside any compartment
            for _param, rtype, rid in extract(r.json()).reference:
                if rtype and (rtype, rid) not in held and rtype != "Patient":
                    held.add((rtype, rid))
                    sr = ctx.store.read(rtype, rid)
                    # another patient's data never rides along
                    if (
                        sr is not None
                        and not sr.deleted
                        and access.patient_of(sr.json()) in (None, pid)
                    ):
                        found.append(sr)
                        reached.add((rtype, rid))
        t = parse_instant(since) if since else None
        return [
            r
            for r in found
            if access.readable(request, r.resource_type)
            and (
                (r.resource_type, r.id) in reached
                or (r.resource_type == "Patient" and r.id == pid)
                or access.searchable(request, r.resource_type)
            )
            and (types is None or r.resource_type in types)
            and (t is None or (parse_instant(r.last_updated) or t) > t)
        ]

    found = await run_in_threadpool(run)
    base = base_url(request)
    found.sort(key=lambda r: (r.resource_type != "Patient", r.resource_type, r.id))
    entries = [
        (f"{base}/{r.resource_type}/{r.id}", orjson.Fragment(r.body), "match") for r in found
    ]
    bundle = bundles.searchset(entries, links=[("self", str(request.url))], total=len(entries))
    await run_in_threadpool(
        access.record,
        request,
        [{"resourceType": "Patient", "id": pid}],
        f"$everything Patient/{pid}",
    )
    return fhir_response(request, tag_as_of(bundle, ctx.as_of()))
