"""Bulk Data Access v2 over HTTP (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off at
`/$export`, `/Patient/$export`, `/Group/{id}/$export` (`Prefer: respond-async`; `_type`,
`_since`, `_outputFormat` ndjson) → 202 `Content-Location`; `GET|DELETE /_export/{jid}`
(status, manifest, cancel); `GET /_export/{jid}/{file}` (an NDJSON file). The jobs run in
standby.sim.server.bulk_export."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from standby.fhir.outcomes import FhirError, outcome
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url, fhir_response
from standby.sim.server.strict import refuse
from standby.store import Store

_NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


def export_parameters(query: str) -> tuple[list[str], str | None]:
    """The types and `_since` of a kick-off query; FhirError for what is not supported."""
    d: dict[str, str] = {}
    for k, v in parse_qsl(query):
        d[k] = f"{d[k]},{v}" if k in d else v
    fmt = d.get("_outputFormat")
    if fmt and fmt not in _NDJSON_FORMATS:
        raise FhirError("not-supported", f"_outputFormat {fmt} is not supported")
    unsupported = set(d) - {"_type", "_since", "_outputFormat"}
    if unsupported:
        raise FhirError("not-supported", f"unsupported $export parameters: {sorted(unsupported)}")
    types = sorted(RESOURCE_TYPES)
    if "_type" in d:
        types = [t for t in d["_type"].split(",") if t]
        bad = [t for t in types if t not in RESOURCE_TYPES]
        if bad:
            raise FhirError("invalid", f"_type: unknown resource types {bad}")
    since = d.get("_since")
    if since is not None:
        try:
            datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError as e:
            raise FhirError("invalid", f"_since is not an instant: {since!r}") from e
    return types, since


def group_members(store: Store, gid: str) -> list[str]:
    """The Patient ids of `Group/{gid}`'s members."""
    g = store.read("Group", gid)
    if g is None or g.deleted:
        raise FhirError("not-found", f"Group/{gid} is not known")
    return [
        str(m.get("entity", {}).get("reference", "")).removeprefix("Patient/")
        for m in g.json().get("member", [])
    ]


async def kickoff(request: Request) -> Response:
    if ehr_context(request).strict.no_export:
        raise refuse("$export")
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError("invalid", "$export needs the header Prefer: respond-async")
    if request.method == "POST":
        raise FhirError("not-supported", "POST $export is not supported; use GET", status=405)
    types, since = export_parameters(request.url.query)
    ehr = ehr_context(request)
    store = ehr.store
    patients: list[str] | None = None
    path = request.url.path
    if path.startswith("/Patient/"):
        patients = [
            sr.id for sr in await run_in_threadpool(lambda: list(store.iter_type("Patient")))
        ]
    elif path.startswith("/Group/"):
        patients = await run_in_threadpool(group_members, store, request.path_params["id"])
    job = ehr.exports.start(request=str(request.url), types=types, since=since, patients=patients)
    loc = f"{base_url(request)}/_export/{job.id}"
    return Response(status_code=202, headers={"Content-Location": loc})


async def export_status(request: Request) -> Response:
    ehr = ehr_context(request)
    jid = request.path_params["jid"]
    if request.method == "DELETE":
        if not ehr.exports.delete(jid):
            raise FhirError("not-found", f"no export {jid}")
        return Response(status_code=202)
    job = ehr.exports.get(jid)
    if job is None:
        raise FhirError("not-found", f"no export {jid}")
    if job.status == "running":
        return Response(status_code=202, headers={"Retry-After": "1", "X-Progress": job.progress})
    if job.status == "failed":
        return fhir_response(outcome("exception", "; ".join(job.errors)), status=500)
    base = f"{base_url(request)}/_export/{jid}"
    manifest: dict[str, Any] = {
        "transactionTime": job.transaction_time,
        "request": job.request,
        "requiresAccessToken": ehr.auth is not None,
        "output": [
            {"type": o["type"], "url": f"{base}/{o['file']}", "count": o["count"]}
            for o in job.output
        ],
        "error": [],
    }
    if job.since is not None:
        manifest["deleted"] = [
            {"type": o["type"], "url": f"{base}/{o['file']}", "count": o["count"]}
            for o in job.deleted
        ]
    return JSONResponse(manifest, headers={"Expires": "0"})


async def export_file(request: Request) -> Response:
    job = ehr_context(request).exports.get(request.path_params["jid"])
    name = request.path_params["file"]
    if job is None or "/" in name or not (job.dir / name).is_file():
        raise FhirError("not-found", "no such export file")
    return FileResponse(job.dir / name, media_type="application/fhir+ndjson")


def routes() -> list[BaseRoute]:
    return [
        Route("/$export", kickoff, methods=["GET", "POST"]),
        Route("/Patient/$export", kickoff, methods=["GET", "POST"]),
        Route("/Group/{id}/$export", kickoff, methods=["GET", "POST"]),
        Route("/_export/{jid}", export_status, methods=["GET", "DELETE"]),
        Route("/_export/{jid}/{file}", export_file, methods=["GET"]),
    ]
