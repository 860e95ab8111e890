"""Bulk Data v2 `$export` over HTTP (https://hl7.org/fhir/uv/bulkdata/export.html):
kick-off at `/$export`, `/Patient/$export`, `/Group/{id}/$export` (`Prefer: respond-async`;
`_type`, `_since`, `_outputFormat` NDJSON) → 202 + `Content-Location`; `GET|DELETE
/$export-status/{job}` (202 with `X-Progress` and `Retry-After` while it runs, 200 with the
manifest, DELETE cancels); `GET /$export-file/{job}/{file}` (an NDJSON file, with the token
of the client that kicked the export off). The jobs: `export_jobs.py`.

Scopes: the export writes only types the client may both read and search (`r` and `s`);
a `_type` naming another is refused (403), as is an export with no such type. Audited:
the kick-off (one line per patient of a Patient or Group export, else one line), and
every file download (one line per patient whose data the file holds).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from standby.api import access, export_jobs
from standby.api.responses import api, base_url, fhir_response, grant, instant_param
from standby.api.search import check_type
from standby.clinical.census import unit_patients, units
from standby.clock import instant
from standby.fhir import display as d
from standby.fhir.outcomes import FhirError

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
KNOWN = {"_type", "_since", "_outputFormat"}
RETRY_AFTER = "2"
AUDIT_BATCH = 10_000  # audit lines of a file download written at a time
TOO_MANY_RETRY_AFTER = "60"  # seconds, when a client or the node runs too many exports


def export_dir(request: Request) -> Path:
    root = api(request).export_dir
    if root is None:
        raise FhirError("not-supported", "this server has no directory for export files")
    return root


def _parameters(request: Request) -> tuple[list[str] | None, str | None]:
    params = parse_qsl(request.url.query, keep_blank_values=True)
    lenient = "handling=lenient" in request.headers.get("prefer", "")
    unknown = sorted({k for k, _ in params if k not in KNOWN})
    if unknown and not lenient:  # export.html: reject what is not supported, unless lenient
        raise FhirError(
            "not-supported",
            f"$export parameters not supported: {', '.join(unknown)} (supported: _type,"
            " _since, _outputFormat; send Prefer: handling=lenient to have them ignored)",
        )
    fmt = next((v for k, v in params if k == "_outputFormat"), None)
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise FhirError("not-supported", f"_outputFormat {fmt!r}: only NDJSON is written")
    types = [t for k, v in params if k == "_type" for t in v.split(",") if t.strip()] or None
    for t in types or []:
        check_type(t)
    since = instant_param("_since", next((v for k, v in params if k == "_since"), None))
    return types, since


def _types(request: Request, asked: list[str] | None, held: list[str]) -> list[str]:
    g = grant(request)
    if asked:
        refused = [t for t in asked if not (g.allows(t, "r") and g.allows(t, "s"))]
        if refused:
            raise FhirError(
                "forbidden",
                f"the client's scope ({g.scope}) does not allow export of"
                f" {', '.join(refused)} (needs system/<Type>.read or system/<Type>.rs)",
            )
        return asked
    out = [t for t in held if g.allows(t, "r") and g.allows(t, "s")]
    if not out:
        raise FhirError("forbidden", f"the client's scope ({g.scope}) allows no export")
    return out


def group_patients(request: Request, gid: str) -> list[str]:
    """A Group resource held in the replica (its members), else `unit-<alias or id>`: the
    patients the replica places on that unit now."""
    store = api(request).store
    held = store.read("Group", gid)
    if held is not None and not held.deleted:
        # its members are the Group's data: who may not read it learns nothing of them
        access.require(request, "Group", "r")
        members = held.json().get("member") or []
        return sorted({pid for m in members if (pid := d.reference_id(m.get("entity"), "Patient"))})
    if gid.lower().startswith("unit-"):
        # who lies on a unit is what the census finds in Encounters: a client that may not
        # search them would learn it from which patients' data the export holds
        access.require(request, "Encounter", "r")
        access.require(request, "Encounter", "s")
        name = gid[5:].lower()
        for u in units(store, include_all=True):
            if name in (u.id.lower(), u.alias.lower()):
                return unit_patients(store, u.id)
    raise FhirError(
        "not-found",
        f"Group/{gid} is neither a Group in the replica nor a unit (Group/unit-<alias>,"
        " for example Group/unit-3W)",
    )


async def kickoff(request: Request) -> Response:
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError("invalid", "$export needs the header Prefer: respond-async")
    ctx = api(request)
    root = export_dir(request)
    asked, since = _parameters(request)
    path = request.url.path
    gid = request.path_params.get("id")

    def prepare() -> export_jobs.ExportRequest:
        if gid is not None:
            patients: list[str] | None = group_patients(request, gid)
        elif path.endswith("/Patient/$export"):
            patients = [sr.id for sr in ctx.store.iter_type("Patient")]
        else:
            patients = None
        held = sorted(ctx.store.counts_by_type())
        types = _types(request, asked, held)
        g = grant(request)
        # the patients themselves, when the client may have them (never past its scope)
        if (
            patients is not None
            and "Patient" not in types
            and asked is None
            and g.allows("Patient", "r")
            and g.allows("Patient", "s")
        ):
            types = ["Patient", *types]
        # the replica's "data as of": everything the source changed before it is here, so
        # a consumer's next `_since` from it misses nothing (now, when it is unknown)
        as_of = ctx.as_of()
        now = instant(ctx.clock())
        tt = as_of if as_of is not None and as_of < now else now
        return export_jobs.ExportRequest(
            grant(request).client_id, str(request.url), types, since, patients, tt
        )

    req = await run_in_threadpool(prepare)
    job_id = secrets.token_urlsafe(18)
    try:
        await run_in_threadpool(export_jobs.start, ctx.store, root, req, job_id)
    except export_jobs.TooManyExports as e:
        raise FhirError(
            "throttled", str(e), status=429, headers={"Retry-After": TOO_MANY_RETRY_AFTER}
        ) from e
    who = [{"resourceType": "Patient", "id": p} for p in req.patients or []]
    await run_in_threadpool(access.record, request, who, f"$export {len(req.types)} types")
    location = f"{base_url(request)}/$export-status/{job_id}"
    return fhir_response(request, b"", status=202, headers={"Content-Location": location})


async def _own_job(request: Request) -> export_jobs.Job:
    job_id = request.path_params["job"]
    job = await run_in_threadpool(export_jobs.get, api(request).store, job_id)
    if job is None or job.client_id != grant(request).client_id:
        raise FhirError("not-found", f"no export {job_id} (finished ones are kept a day)")
    return job


async def status(request: Request) -> Response:
    job = await _own_job(request)
    if request.method == "DELETE":
        await run_in_threadpool(export_jobs.cancel, api(request).store, export_dir(request), job.id)
        return fhir_response(request, b"", status=202)
    if job.status == "running":
        return fhir_response(
            request,
            b"",
            status=202,
            headers={"X-Progress": job.progress, "Retry-After": RETRY_AFTER},
        )
    if job.status != "done" or job.manifest is None:
        raise FhirError("exception", f"the export failed: {job.error}", status=500)
    base = f"{base_url(request)}/$export-file/{job.id}"
    manifest: dict[str, Any] = dict(job.manifest)
    for key in ("output", "deleted", "error"):
        manifest[key] = [
            {"type": i["type"], "url": f"{base}/{i['file']}", "count": i["count"]}
            for i in manifest.get(key) or []
        ]
    return JSONResponse(manifest, headers={"Cache-Control": "no-store"})


async def file(request: Request) -> Response:
    job = await _own_job(request)
    name = request.path_params["file"]
    p = export_jobs.file_path(export_dir(request), job.id, name)
    if p is None:
        raise FhirError("not-found", f"export {job.id} has no file {name}")
    # one line per patient in the file (no one's data: one line without a patient)
    patients = await run_in_threadpool(export_jobs.file_patients, export_dir(request), job.id, name)
    for k in range(0, max(1, len(patients)), AUDIT_BATCH):
        who = [{"resourceType": "Patient", "id": pid} for pid in patients[k : k + AUDIT_BATCH]]
        await run_in_threadpool(access.record, request, who, f"$export file {name}")
    return FileResponse(p, media_type=NDJSON, headers={"Cache-Control": "no-store"})
