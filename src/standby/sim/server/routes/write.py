"""`POST /{type}`, `PUT /{type}/{id}`, `DELETE /{type}/{id}`: create (conditional with
`If-None-Exist`: 200 with the one match, 412 on several; http.html#create), update or
create-on-update (`If-Match: W/"n"` → 412 when stale; http.html#update) and delete (a later
read is 410; http.html#delete). versionId and lastUpdated come from the store."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.fhir.outcomes import FhirError, outcome
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import FHIR_JSON, base_url, fhir_response, resource_headers
from standby.sim.server.rest import (
    check_type,
    conditional_match,
    if_match_version,
    parse_body,
    write,
)
from standby.store import StoredResource


async def create(request: Request) -> Response:
    rtype = request.path_params["type"]
    check_type(rtype)
    store = ehr_context(request).store
    res = parse_body(await request.body(), rtype, to_create=True)
    cond = request.headers.get("if-none-exist")
    base = base_url(request)

    def run() -> tuple[StoredResource, int]:
        res.pop("id", None)
        if not cond:
            return write(lambda: store.create(res)), 201
        # the match and the create under the one write lock: two requests with the same
        # If-None-Exist at the same moment create one resource (the second finds it)
        with store.transaction():
            existing = conditional_match(store, rtype, cond)
            if existing is not None:
                return existing, 200
            return write(lambda: store.create(res)), 201

    sr, status = await run_in_threadpool(run)
    return Response(
        sr.body, status_code=status, media_type=FHIR_JSON, headers=resource_headers(sr, base)
    )


async def update(request: Request) -> Response:
    rtype, id = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    store = ehr_context(request).store
    res = parse_body(await request.body(), rtype)
    if res["id"] != id:
        raise FhirError("invalid", f"body must be a {rtype} with id {id!r}")
    if_match = if_match_version(request.headers.get("if-match"))
    sr = await run_in_threadpool(write, lambda: store.update(res, if_match=if_match))
    status = 201 if sr.version_id == "1" else 200
    return Response(
        sr.body,
        status_code=status,
        media_type=FHIR_JSON,
        headers=resource_headers(sr, base_url(request)),
    )


async def delete(request: Request) -> Response:
    rtype, id = request.path_params["type"], request.path_params["id"]
    check_type(rtype)
    store = ehr_context(request).store
    sr = await run_in_threadpool(store.delete, rtype, id)
    headers = {"ETag": f'W/"{sr.version_id}"'} if sr is not None else {}
    return fhir_response(
        outcome("informational", f"{rtype}/{id} deleted", severity="information"),
        headers=headers,
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/{type}", create, methods=["POST"]),
        Route("/{type}/{id}", update, methods=["PUT"]),
        Route("/{type}/{id}", delete, methods=["DELETE"]),
    ]
