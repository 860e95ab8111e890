"""`GET /{type}/{id}` and `GET /{type}/{id}/_history/{vid}`: read and vread
(http.html#read, http.html#vread), with `ETag` and `Last-Modified`."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.fhir.outcomes import FhirError
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import FHIR_JSON, base_url, resource_headers
from standby.sim.server.rest import check_type, read_current


async def read(request: Request) -> Response:
    rtype, id = request.path_params["type"], request.path_params["id"]
    store = ehr_context(request).store
    sr = await run_in_threadpool(read_current, store, rtype, id)
    h = resource_headers(sr, base_url(request))
    h.pop("Location")
    return Response(sr.body, media_type=FHIR_JSON, headers=h)


async def vread(request: Request) -> Response:
    p = request.path_params
    check_type(p["type"])
    store = ehr_context(request).store
    sr = await run_in_threadpool(store.vread, p["type"], p["id"], p["vid"])
    if sr is None:
        raise FhirError("not-found", f"{p['type']}/{p['id']} has no version {p['vid']}")
    if sr.deleted:
        raise FhirError("deleted", f"version {p['vid']} of {p['type']}/{p['id']} is a delete")
    h = resource_headers(sr, base_url(request))
    h.pop("Location")
    return Response(sr.body, media_type=FHIR_JSON, headers=h)


def routes() -> list[BaseRoute]:
    return [
        Route("/{type}/{id}", read, methods=["GET"]),
        Route("/{type}/{id}/_history/{vid}", vread, methods=["GET"]),
    ]
