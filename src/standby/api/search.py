"""`GET /{type}` and `POST /{type}/_search`: search (https://hl7.org/fhir/R4/search.html).

The criteria are the store's indexed parameters (`fhir.search_registry`, what the
CapabilityStatement lists) with the modifiers the store implements (`:exact`, `:contains`
on strings, `:[type]` on references); `_id`, `_lastUpdated`. Result parameters: `_count`
(default 50, at most 1000), `_sort`, `_include` and `_revinclude` (any reference parameter,
`Type:param[:Target]`), `_summary` (`count`, and the subsets `true`, `text`, `data` of
`fhir.subsets`), `_elements`, `_total` (the total is always given). Paging: `paging.py`
(a snapshot per search, `_getpages` + `_getpagesoffset` in the `next` link).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.api import access, paging
from standby.api.responses import api, base_url, fhir_response, grant, tag_as_of, whole_number
from standby.fhir import bundles, subsets
from standby.fhir.outcomes import FhirError, outcome
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.fhir.search_params import REFERENCE, extract, resolve_param
from standby.store.base import Store, StoredResource

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_INCLUDED = 5000
RESULT_PARAMS = {
    "_count",
    "_sort",
    "_total",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_format",
    "_pretty",
    "_getpages",
    "_getpagesoffset",
}
#: Search parameters of the spec that would change which resources match: refused (400)
#: rather than ignored, since ignoring them would answer with more than was asked for.
REFUSED = {
    "_has", "_text", "_content", "_filter", "_query", "_list", "_tag", "_profile",
    "_security", "_source", "_type", "_contained", "_containedType",
}  # fmt: skip


def check_type(rtype: str) -> None:
    if rtype not in RESOURCE_TYPES:
        raise FhirError("not-supported", f"unknown resource type {rtype!r}", status=404)


async def search_get(request: Request) -> Response:
    params = parse_qsl(request.url.query, keep_blank_values=True)
    return await search(request, request.path_params["type"], params)


async def search_post(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise FhirError(
            "invalid", "POST _search needs application/x-www-form-urlencoded", status=415
        )
    params = parse_qsl(request.url.query, keep_blank_values=True)
    try:
        body = (await request.body()).decode()
    except UnicodeDecodeError:
        raise FhirError("invalid", "the form is not UTF-8") from None
    params += parse_qsl(body, keep_blank_values=True)
    return await search(request, request.path_params["type"], params)


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    return values[-1] if values else None


def page_count(params: list[tuple[str, str]]) -> int:
    raw = _one(params, "_count")
    if raw is None:
        return DEFAULT_COUNT
    return whole_number("_count", raw, most=MAX_COUNT)


async def search(request: Request, rtype: str, params: list[tuple[str, str]]) -> Response:
    """One page of `rtype` matching `params` as a searchset Bundle."""
    check_type(rtype)
    access.require(request, rtype, "s")
    ctx = api(request)
    client = grant(request).client_id
    count = page_count(params)
    summary = _one(params, "_summary")
    if summary not in (None, "count", "false", *subsets.SUMMARY_MODES):
        raise FhirError(
            "invalid", f"_summary must be true, text, data, count or false, not {summary!r}"
        )
    elements = [e for k, v in params if k == "_elements" for e in v.split(",") if e]
    if elements and summary in subsets.SUMMARY_MODES:
        raise FhirError("invalid", f"_summary={summary} and _elements: ask for one of them")
    # search.html#count: the total, no resources, whatever the subset asked (a page of
    # none would have a `next` link to itself)
    if count == 0:
        summary = "count"
    sort = [s for k, v in params if k == "_sort" for s in v.split(",") if s]
    criteria, ignored = _criteria(request, rtype, params)
    # `:iterate` is followed one level, as the plain form (what the clinical pages need)
    includes = [v for k, v in params if k.split(":")[0] == "_include"]
    revincludes = [v for k, v in params if k.split(":")[0] == "_revinclude"]
    # a _revinclude finds resources (a search of their type): left out without `s` on it
    revincludes = [v for v in revincludes if access.searchable(request, v.split(":")[0])]
    snapshot, offset_raw = _one(params, "_getpages"), _one(params, "_getpagesoffset") or "0"
    offset = whole_number("_getpagesoffset", offset_raw)
    store = ctx.store
    base = base_url(request)
    # the search as understood: without what was ignored, the page's place in the snapshot
    keep = [
        (k, v)
        for k, v in params
        if k not in ("_getpages", "_getpagesoffset", "_count") and k not in ignored
    ]

    def link(snapshot: str | None, offset: int | None) -> str:
        at = [] if offset is None else [("_getpages", snapshot), ("_getpagesoffset", str(offset))]
        return f"{base}/{rtype}?{urlencode([*keep, *at, ('_count', str(count))])}"

    notes = []
    if ignored:
        note = outcome(
            "not-supported",
            f"ignored (not supported): {', '.join(sorted(ignored))}",
            severity="warning",
        )
        notes.append((f"urn:uuid:{uuid.uuid4()}", note, "outcome"))

    if summary == "count":
        try:
            total = (
                await run_in_threadpool(store.search, rtype, criteria, count=0, total=True)
            ).total
        except ValueError as e:
            raise FhirError("invalid", f"search not supported: {e}") from e
        bundle = bundles.searchset(notes, links=[("self", link(None, None))], total=total)
        named = await run_in_threadpool(access.named_patients, store, rtype, criteria)
        await run_in_threadpool(access.record, request, named, f"search {rtype} (count)")
        return fhir_response(request, tag_as_of(bundle, ctx.as_of()))

    def run() -> tuple[paging.Page, list[StoredResource]]:
        if snapshot:
            page = paging.later_page(store, client, rtype, snapshot, offset, count)
        else:
            page = paging.first_page(store, client, rtype, criteria, sort, count)
        extra = included(store, page.resources, includes, revincludes)
        extra = [r for r in extra if access.readable(request, r.resource_type)]
        # the audit line is committed before the answer is sent, as for a page view
        named = access.named_patients(store, rtype, criteria)
        # (with the snapshot of a first page: one commit for both)
        access.record(request, [*page.resources, *extra, *named], f"search {rtype}", page.writes)
        return page, extra

    page, extra = await run_in_threadpool(run)
    links = [("self", link(page.snapshot, page.offset if snapshot else None))]
    if page.snapshot and page.offset + count < page.total:
        links.append(("next", link(page.snapshot, page.offset + count)))
    if page.snapshot and page.offset > 0:
        links.append(("previous", link(page.snapshot, max(0, page.offset - count))))
    entries = [
        *((f"{base}/{r.resource_type}/{r.id}", _body(r, elements, summary), "match")
          for r in page.resources),
        *((f"{base}/{r.resource_type}/{r.id}", _body(r, elements, summary), "include")
          for r in extra),
        *notes,
    ]  # fmt: skip
    bundle = bundles.searchset(entries, links=links, total=page.total)
    return fhir_response(request, tag_as_of(bundle, ctx.as_of()))


def _criteria(
    request: Request, rtype: str, params: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], set[str]]:
    """The criteria the store is given, and the unknown result parameters left out.

    An unknown `_name` (a client's own, such as `_totalMethod`) is ignored and reported in
    an OperationOutcome entry, and left out of the self link (search.html#errors), unless
    the client sent `Prefer: handling=strict`; an unknown parameter without `_`, or one
    of `REFUSED`, is a 400: ignoring it would answer with more than was asked for."""
    strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
    criteria, ignored = [], set()
    for k, v in params:
        name = k.split(":")[0]
        if name in RESULT_PARAMS:
            continue
        if name in REFUSED:
            raise FhirError("not-supported", f"{name} is not supported on this server")
        if "." in k:  # `subject.name`, `subject:Patient.name` (search.html#chaining)
            raise FhirError(
                "not-supported",
                f"{k}: chained parameters are not supported on this server; search the"
                " referenced type first, then by reference (for example subject=Patient/id)",
            )
        if name.startswith("_") and name not in ("_id", "_lastUpdated") and not strict:
            ignored.add(k)
            continue
        criteria.append((k, v))
    return criteria, ignored


def _body(sr: StoredResource, elements: list[str], summary: str | None) -> Any:
    """The stored bytes as they are (parsing would turn 42.256500 into 42.2565), or the
    resource cut down to `_elements` or a `_summary` mode (`fhir.subsets`: marked
    SUBSETTED, with the elements R4 makes mandatory and the modifiers)."""
    if summary in subsets.SUMMARY_MODES:
        return subsets.summarized(sr.json(), summary)
    if elements:
        return subsets.elements(sr.json(), elements)
    return orjson.Fragment(sr.body)


def included(
    store: Store, matches: list[StoredResource], includes: list[str], revincludes: list[str]
) -> list[StoredResource]:
    """The resources `_include` and `_revinclude` add to a page (each once, none of the
    matches again). `Type:param[:Target]` for any reference parameter the store indexes."""
    if not matches or not (includes or revincludes):
        return []
    seen = {(r.resource_type, r.id) for r in matches}
    out: list[StoredResource] = []

    def add(sr: StoredResource | None) -> None:
        if sr is not None and not sr.deleted and (sr.resource_type, sr.id) not in seen:
            seen.add((sr.resource_type, sr.id))
            out.append(sr)

    for spec in includes:
        src, pname, target = _reference_param(spec)
        for m in matches:
            if m.resource_type != src:
                continue
            for param, rtype, rid in extract(m.json()).reference:
                if param == pname and rtype and (target is None or rtype == target):
                    add(store.read(rtype, rid))
            if len(out) > MAX_INCLUDED:
                raise FhirError(
                    "too-costly", "too many included resources: lower _count", status=422
                )
    for spec in revincludes:
        src, pname, target = _reference_param(spec)
        refs = [f"{m.resource_type}/{m.id}" for m in matches if target in (None, m.resource_type)]
        for k in range(0, len(refs), 100):
            page = store.search(src, [(pname, ",".join(refs[k : k + 100]))], count=MAX_INCLUDED + 1)
            for sr in page.resources:
                add(sr)
            if len(out) > MAX_INCLUDED:
                raise FhirError(
                    "too-costly", "too many included resources: lower _count", status=422
                )
    return out


def _reference_param(spec: str) -> tuple[str, str, str | None]:
    """`Type:param[:Target]` → (type, indexed parameter name, target type)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[0] not in RESOURCE_TYPES:
        raise FhirError(
            "invalid", f"_include/_revinclude must be Type:param[:Target], not {spec!r}"
        )
    resolved = resolve_param(parts[0], parts[1])
    if resolved is None or resolved[1][0] != REFERENCE:
        raise FhirError(
            "not-supported", f"{parts[0]} has no indexed reference parameter {parts[1]!r}"
        )
    target = parts[2] if len(parts) == 3 else resolved[2]
    return parts[0], resolved[0], target
