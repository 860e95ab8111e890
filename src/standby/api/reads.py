"""read, vread, `_history` and `Patient/$everything` (https://hl7.org/fhir/R4/http.html,
https://hl7.org/fhir/R4/patient-operation-everything.html).

* read and vread send the stored bytes as the EHR sent them, with `ETag` and
  `Last-Modified`; a deleted resource answers 410.
* `_history` of an instance lists every version the replica holds, newest first. Type and
  system history list, oldest change first, the current version of every resource changed
  after `_since` (the replica keeps its change feed by resource, not every intermediate
  version a source may have had); paged by the change sequence (`_getpagesoffset` is the
  last sequence sent), which only grows, so paging is stable while the sync writes.
* `$everything`: the patient's compartment, plus the resources it references that are in
  no patient's compartment (Medication, Practitioner, Location, Organization, ...), one
  Bundle; `_type` narrows it, `_since` keeps what changed after an instant.
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.api import access
from standby.api.responses import api, base_url, fhir_response, grant, resource_headers, tag_as_of
from standby.api.search import check_type, page_count
from standby.clock import parse_instant
from standby.fhir import bundles
from standby.fhir.outcomes import FhirError
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_params import extract
from standby.store.base import StoredResource


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
            raise FhirError("deleted", f"{rtype}/{rid} was deleted (version {sr.version_id})")
        access.record(request, [sr], f"read {rtype}/{rid}")
        return sr

    sr = await run_in_threadpool(run)
    return fhir_response(request, sr.body, headers=resource_headers(sr))


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
    return fhir_response(request, sr.body, headers=resource_headers(sr))


def _since(request: Request) -> str | None:
    since = request.query_params.get("_since")
    if since is not None and parse_instant(since) is None:
        raise FhirError("invalid", f"_since must be an instant, not {since!r}")
    return since


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


async def history_instance(request: Request) -> Response:
    rtype, rid = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    access.require(request, rtype, "r")
    ctx = api(request)
    versions = await run_in_threadpool(ctx.store.history, rtype, rid)
    if not versions:
        raise FhirError("not-found", f"{rtype}/{rid} is not in the replica")
    since = _since(request)
    if since:
        t = parse_instant(since)
        versions = [v for v in versions if (parse_instant(v.last_updated) or t) > t]
    base = base_url(request)
    oldest = versions[-1].version_id if versions else None
    entries = [_entry(base, v, v.version_id == oldest) for v in versions]
    bundle = bundles.history(entries, links=[("self", str(request.url))], total=len(entries))
    await run_in_threadpool(
        access.record, request, [v.json() for v in versions], f"history {rtype}/{rid}"
    )
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


async def _changes(request: Request, types: list[str] | None, self_url: str) -> Response:
    ctx = api(request)
    since = _since(request)
    count = max(1, page_count(list(request.query_params.multi_items())))
    after_raw = request.query_params.get("_getpagesoffset", "0")
    if not after_raw.isdigit():
        raise FhirError("invalid", f"_getpagesoffset must be a whole number, not {after_raw!r}")
    changes = await run_in_threadpool(
        lambda: ctx.store.changes_since(
            since, types=types, limit=count + 1, after_seq=int(after_raw)
        )
    )
    more = len(changes) > count
    changes = changes[:count]
    base = base_url(request)
    entries = [_entry(base, sr, sr.version_id == "1") for _, sr in changes]
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "_getpagesoffset"]
    links = [("self", str(request.url))]
    if more:
        links.append(
            ("next", f"{self_url}?{urlencode([*keep, ('_getpagesoffset', str(changes[-1][0]))])}")
        )
    bundle = bundles.history(entries, links=links, total=None)
    await run_in_threadpool(access.record, request, [sr.json() for _, sr in changes], "history")
    return fhir_response(request, tag_as_of(bundle, ctx.as_of()))


async def everything(request: Request) -> Response:
    pid = request.path_params["id"]
    access.require(request, "Patient", "r")
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
        t = parse_instant(since) if since else None
        return [
            r
            for r in found
            if access.readable(request, r.resource_type)
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
