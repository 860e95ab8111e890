"""`GET /{type}` and `POST /{type}/_search`: search (http.html#search, search.html), paged by
`_count` and `_offset` with `Bundle.link` self/next/previous, `_sort`, `_total=accurate`,
`_summary=count`; the strict modes' refusals (strict.py) are applied first."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.fhir import bundles
from standby.fhir.outcomes import FhirError
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url, fhir_response
from standby.sim.server.rest import check_type, page_count, page_offset
from standby.sim.server.strict import check_search, drop_bare_ids
from standby.store import SearchPage

_PAGING = {
    "_count",
    "_offset",
    "_getpagesoffset",
    "_format",
    "_total",
    "_sort",
    "_pretty",
    "_summary",
}


async def search_get(request: Request) -> Response:
    params = list(parse_qsl(request.url.query, keep_blank_values=True))
    return await search(request, request.path_params["type"], params)


async def search_post(request: Request) -> Response:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        raise FhirError(
            "invalid", "POST _search needs application/x-www-form-urlencoded", status=415
        )
    raw = (await request.body()).decode()
    params = list(parse_qsl(request.url.query, keep_blank_values=True))
    params += parse_qsl(raw, keep_blank_values=True)
    return await search(request, request.path_params["type"], params)


async def search(request: Request, rtype: str, params: list[tuple[str, str]]) -> Response:
    """One page of `rtype` matching `params`, as a searchset Bundle."""
    check_type(rtype)
    ehr = ehr_context(request)
    store = ehr.store
    count, offset = page_count(params), page_offset(params)
    sort: list[str] = []
    for k, v in params:
        if k == "_sort":
            sort += [s for s in v.split(",") if s]
    want_total = any(k == "_total" and v in ("accurate", "estimate") for k, v in params)
    summary_count = ("_summary", "count") in params  # search.html#summary: the total only
    for k, v in params:
        if k == "_summary" and v != "count":
            raise FhirError("not-supported", f"_summary={v} is not supported (only count)")
    if summary_count:
        want_total, count, offset = True, 0, 0
    criteria = [(k, v) for k, v in params if k not in _PAGING]
    check_search(ehr.strict, rtype, [k for k, _v in criteria if k != "_lastUpdated"])
    kept = drop_bare_ids(ehr.strict, rtype, criteria)

    def run() -> Any:
        if kept is None:  # a reference the strict server does not match
            return SearchPage([], 0 if want_total else None)
        try:
            return store.search(
                rtype, kept, sort=sort, count=count + 1, offset=offset, total=want_total
            )
        except ValueError as e:
            raise FhirError("invalid", f"search not supported: {e}") from e

    page = await run_in_threadpool(run)
    more = len(page.resources) > count and not summary_count
    base = base_url(request)
    keep = [(k, v) for k, v in params if k not in ("_offset", "_getpagesoffset", "_count")]

    def link(off: int) -> str:
        q = urlencode([*keep, ("_count", str(count)), ("_offset", str(off))])
        return f"{base}/{rtype}?{q}"

    links = [("self", link(offset))]
    if more:
        links.append(("next", link(offset + count)))
    if offset > 0:
        links.append(("previous", link(max(0, offset - count))))
    entries = [
        # the stored bytes as they are: parsing them would turn 42.256500 into 42.2565
        (f"{base}/{sr.resource_type}/{sr.id}", orjson.Fragment(sr.body), "match")
        for sr in page.resources[:count]
    ]
    return fhir_response(bundles.searchset(entries, links=links, total=page.total))


def routes() -> list[BaseRoute]:
    return [
        Route("/{type}", search_get, methods=["GET"]),
        Route("/{type}/_search", search_post, methods=["POST"]),
    ]
