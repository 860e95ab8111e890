"""History (http.html#history): `GET /{type}/{id}/_history` (every version of one resource,
`_since`, `_count`), and `GET /{type}/_history` and `GET /_history` (the current version of
everything changed after `_since`, oldest change first, paged by `next` links with the
store's change sequence in `_after`)."""

from __future__ import annotations

import re
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
from standby.sim.server.rest import check_type, page_count
from standby.sim.server.strict import refuse
from standby.store import StoredResource

_INSTANT = re.compile(r"^\d{4}(-\d\d(-\d\d(T[\d:.]+(Z|[+-]\d\d:\d\d)?)?)?)?$")


def history_entry(base: str, sr: StoredResource) -> dict[str, Any]:
    return bundles.history_entry(
        f"{base}/{sr.resource_type}/{sr.id}",
        None if sr.deleted else orjson.Fragment(sr.body),  # verbatim, as a read serves it
        resource_type=sr.resource_type,
        id=sr.id,
        version_id=sr.version_id,
        last_updated=sr.last_updated,
        deleted=sr.deleted,
        first_version=sr.version_id == "1",
    )


async def history_instance(request: Request) -> Response:
    rtype, id = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    if ehr_context(request).strict.no_history:
        raise refuse("_history")
    store = ehr_context(request).store
    params = list(parse_qsl(request.url.query))
    since = dict(params).get("_since")
    count = page_count(params)
    versions = await run_in_threadpool(store.history, rtype, id)
    if not versions:
        raise FhirError("not-found", f"{rtype}/{id} is not known")
    base = base_url(request)
    total = len(versions)
    if since:
        versions = [v for v in versions if v.last_updated > since]
    entries = [history_entry(base, v) for v in versions[:count]]
    self_url = f"{base}/{rtype}/{id}/_history?{request.url.query}"
    return fhir_response(bundles.history(entries, links=[("self", self_url)], total=total))


async def history_type(request: Request) -> Response:
    rtype = request.path_params["type"]
    check_type(rtype)
    return await history_changes(request, [rtype], f"{rtype}/_history")


async def history_system(request: Request) -> Response:
    return await history_changes(request, None, "_history")


async def history_changes(request: Request, types: list[str] | None, path: str) -> Response:
    """Type and system history: the current version of every resource changed after
    `_since`, oldest change first, paged by the store's change sequence (`_after`)."""
    if ehr_context(request).strict.no_history:
        raise refuse("_history")
    store = ehr_context(request).store
    params = list(parse_qsl(request.url.query))
    d = dict(params)
    since, count = d.get("_since"), page_count(params)
    try:
        after = int(d.get("_after", "0"))
    except ValueError as e:
        raise FhirError("invalid", "_after must be an integer") from e
    if since is not None and not _INSTANT.match(since):
        raise FhirError("invalid", f"_since is not an instant: {since!r}")
    rows = await run_in_threadpool(
        lambda: store.changes_since(since, types=types, limit=count, after_seq=after)
    )
    base = base_url(request)
    entries = [history_entry(base, sr) for _seq, sr in rows]
    links = [("self", f"{base}/{path}?{request.url.query}")]
    if len(rows) == count and rows:
        q = [(k, v) for k, v in params if k != "_after"] + [("_after", str(rows[-1][0]))]
        links.append(("next", f"{base}/{path}?{urlencode(q)}"))
    return fhir_response(bundles.history(entries, links=links, total=None))


def routes() -> list[BaseRoute]:
    # before read.py's /{type}/{id}, which would also match /{type}/_history
    return [
        Route("/_history", history_system, methods=["GET"]),
        Route("/{type}/_history", history_type, methods=["GET"]),
        Route("/{type}/{id}/_history", history_instance, methods=["GET"]),
    ]
