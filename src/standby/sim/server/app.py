"""The Starlette app of the simulated EHR: `create_app(store, auth=..., faults=..., feed=...)`.

Routes: FHIR REST (rest.py, transaction.py), `/metadata` (capability.py), Bulk Data `$export`
(bulk_export.py; status under `/_export/{id}`), SMART Backend Services
(`/.well-known/smart-configuration`, `POST /auth/token`; smart_auth.py), and the admin API
(`/_admin/faults`, `/_admin/clients`, `/_admin/changes`), which needs no token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from standby.fhir.outcomes import FhirError, outcome
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.sim.server import transaction
from standby.sim.server.bulk_export import ExportManager
from standby.sim.server.capability import capability_statement
from standby.sim.server.faults import FaultMiddleware, Faults
from standby.sim.server.feed import Feed
from standby.sim.server.rest import Rest, base_url, fhir_response
from standby.sim.server.smart_auth import SmartAuthConfig, TokenRequestRefused
from standby.store import Store

PUBLIC_PREFIXES = ("/metadata", "/.well-known/", "/auth/token", "/_admin")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuthMiddleware:
    """401 + OperationOutcome + WWW-Authenticate for FHIR requests without a valid token."""

    def __init__(self, app: ASGIApp, auth: SmartAuthConfig | None) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.auth is None
            or scope["type"] != "http"
            or scope["path"].startswith(PUBLIC_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        reason = self.auth.check(headers.get(b"authorization", b"").decode() or None)
        if reason is None:
            await self.app(scope, receive, send)
            return
        resp = fhir_response(
            outcome("login", f"authorization required: {reason}"),
            status=401,
            headers={
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'
            },
        )
        await resp(scope, receive, send)


_JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


class FormatMiddleware:
    """406 + OperationOutcome when `_format` or `Accept` asks only for a format other than
    JSON (http.html#mime-type: this server speaks application/fhir+json only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(("/_admin", "/_export/")):
            query = dict(parse_qsl(scope.get("query_string", b"").decode()))
            fmt = query.get("_format")
            accept = dict(scope["headers"]).get(b"accept", b"").decode().lower()
            wanted = [a.split(";")[0].strip() for a in accept.split(",") if a.strip()]
            ok_accept = not wanted or any(
                w in _JSON_FORMATS or w in ("*/*", "application/*") for w in wanted
            )
            if (fmt is not None and fmt.split(";")[0] not in _JSON_FORMATS) or not ok_accept:
                resp = fhir_response(
                    outcome("not-supported", "only application/fhir+json is supported"),
                    status=406,
                )
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    store: Store,
    *,
    auth: SmartAuthConfig | None = None,
    faults: Faults | None = None,
    feed: Feed | None = None,
    per_file: int = 100_000,
) -> Starlette:
    faults = faults or Faults()
    rest = Rest(store)
    exports = ExportManager(store, per_file=per_file)

    # ---- metadata, SMART ------------------------------------------------------------
    async def metadata(request: Request) -> Response:
        return fhir_response(
            capability_statement(base_url(request), auth=auth is not None, now=_now())
        )

    async def smart_config(request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            {
                "token_endpoint": f"{base}/auth/token",
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "grant_types_supported": ["client_credentials"],
                "scopes_supported": ["system/*.read", "system/*.rs", "system/*.*"],
                "capabilities": ["client-confidential-asymmetric"],
            }
        )

    async def token(request: Request) -> Response:
        if auth is None:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "auth is off"}, 400
            )
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            body = auth.issue(form, f"{base_url(request)}/auth/token")
        except TokenRequestRefused as e:
            return JSONResponse({"error": e.error, "error_description": e.description}, 400)
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ---- admin ------------------------------------------------------------------------
    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                d = orjson.loads(await request.body())
                faults.set(
                    error_rate=None if d.get("error_rate") is None else float(d["error_rate"]),
                    latency_ms=None if d.get("latency_ms") is None else int(d["latency_ms"]),
                    outage=None if d.get("outage") is None else bool(d["outage"]),
                )
            except (ValueError, TypeError, AttributeError) as e:
                return JSONResponse({"error": str(e)}, 400)
        return JSONResponse(faults.as_json())

    async def admin_clients(request: Request) -> Response:
        if auth is None:
            return JSONResponse({"error": "auth is off"}, 400)
        if request.method == "DELETE":
            gone = auth.revoke(request.path_params["client_id"])
            return JSONResponse({"revoked": gone}, 200 if gone else 404)
        try:
            d = orjson.loads(await request.body())
            auth.register(d["client_id"], d["jwks"], d.get("scope", "system/*.read"))
        except (ValueError, KeyError, TypeError) as e:
            return JSONResponse({"error": str(e)}, 400)
        return JSONResponse({"registered": d["client_id"]}, 201)

    async def admin_changes(request: Request) -> Response:
        since = request.query_params.get("since")
        log = feed.log_since(since) if feed is not None else []
        return JSONResponse({"running": feed is not None and feed.running, "changes": log})

    # ---- bulk export ------------------------------------------------------------------
    async def kickoff(request: Request) -> Response:
        if "respond-async" not in request.headers.get("prefer", ""):
            raise FhirError("invalid", "$export needs the header Prefer: respond-async")
        if request.method == "POST":
            raise FhirError("not-supported", "POST $export is not supported; use GET", status=405)
        params = parse_qsl(request.url.query)
        d: dict[str, str] = {}
        for k, v in params:
            d[k] = f"{d[k]},{v}" if k in d else v
        fmt = d.get("_outputFormat")
        if fmt and fmt not in ("application/fhir+ndjson", "application/ndjson", "ndjson"):
            raise FhirError("not-supported", f"_outputFormat {fmt} is not supported")
        unsupported = set(d) - {"_type", "_since", "_outputFormat"}
        if unsupported:
            raise FhirError(
                "not-supported", f"unsupported $export parameters: {sorted(unsupported)}"
            )
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
        patients: list[str] | None = None
        path = request.url.path
        if path.startswith("/Patient/"):
            patients = [
                sr.id for sr in await run_in_threadpool(lambda: list(store.iter_type("Patient")))
            ]
        elif path.startswith("/Group/"):
            gid = request.path_params["id"]
            g = await run_in_threadpool(store.read, "Group", gid)
            if g is None or g.deleted:
                raise FhirError("not-found", f"Group/{gid} is not known")
            patients = [
                str(m.get("entity", {}).get("reference", "")).removeprefix("Patient/")
                for m in g.json().get("member", [])
            ]
        job = exports.start(request=str(request.url), types=types, since=since, patients=patients)
        loc = f"{base_url(request)}/_export/{job.id}"
        return Response(status_code=202, headers={"Content-Location": loc})

    async def export_status(request: Request) -> Response:
        jid = request.path_params["jid"]
        if request.method == "DELETE":
            if not exports.delete(jid):
                raise FhirError("not-found", f"no export {jid}")
            return Response(status_code=202)
        job = exports.get(jid)
        if job is None:
            raise FhirError("not-found", f"no export {jid}")
        if job.status == "running":
            return Response(
                status_code=202, headers={"Retry-After": "1", "X-Progress": job.progress}
            )
        if job.status == "failed":
            return fhir_response(outcome("exception", "; ".join(job.errors)), status=500)
        base = f"{base_url(request)}/_export/{jid}"
        manifest: dict[str, Any] = {
            "transactionTime": job.transaction_time,
            "request": job.request,
            "requiresAccessToken": auth is not None,
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
        job = exports.get(request.path_params["jid"])
        name = request.path_params["file"]
        if job is None or "/" in name or not (job.dir / name).is_file():
            raise FhirError("not-found", "no such export file")
        return FileResponse(job.dir / name, media_type="application/fhir+ndjson")

    # ---- transaction / batch --------------------------------------------------------
    async def base_post(request: Request) -> Response:
        bundle = transaction.parse(await request.body())
        base = base_url(request)
        result = await run_in_threadpool(transaction.process, rest, bundle, base)
        return fhir_response(result)

    routes = [
        Route("/metadata", metadata, methods=["GET"]),
        Route("/.well-known/smart-configuration", smart_config, methods=["GET"]),
        Route("/auth/token", token, methods=["POST"]),
        Route("/_admin/faults", admin_faults, methods=["GET", "POST"]),
        Route("/_admin/clients", admin_clients, methods=["POST"]),
        Route("/_admin/clients/{client_id}", admin_clients, methods=["DELETE"]),
        Route("/_admin/changes", admin_changes, methods=["GET"]),
        Route("/$export", kickoff, methods=["GET", "POST"]),
        Route("/Patient/$export", kickoff, methods=["GET", "POST"]),
        Route("/Group/{id}/$export", kickoff, methods=["GET", "POST"]),
        Route("/_export/{jid}", export_status, methods=["GET", "DELETE"]),
        Route("/_export/{jid}/{file}", export_file, methods=["GET"]),
        Route("/", base_post, methods=["POST"]),
        Route("/_history", rest.history_system, methods=["GET"]),
        Route("/{type}", rest.search_get, methods=["GET"]),
        Route("/{type}", rest.create, methods=["POST"]),
        Route("/{type}/_search", rest.search_post, methods=["POST"]),
        Route("/{type}/_history", rest.history_type, methods=["GET"]),
        Route("/{type}/{id}", rest.read, methods=["GET"]),
        Route("/{type}/{id}", rest.update, methods=["PUT"]),
        Route("/{type}/{id}", rest.delete, methods=["DELETE"]),
        Route("/{type}/{id}/_history", rest.history_instance, methods=["GET"]),
        Route("/{type}/{id}/_history/{vid}", rest.vread, methods=["GET"]),
    ]

    async def fhir_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FhirError)
        return fhir_response(exc.outcome, status=exc.status, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "exception")
        return fhir_response(outcome(code, str(exc.detail)), status=exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        return fhir_response(outcome("exception", f"internal error: {type(exc).__name__}"), 500)

    app = Starlette(
        routes=routes,
        exception_handlers={
            FhirError: fhir_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.add_middleware(FormatMiddleware)
    app.add_middleware(AuthMiddleware, auth=auth)
    app.add_middleware(FaultMiddleware, faults=faults)
    app.state.store = store
    app.state.faults = faults
    app.state.auth = auth
    app.state.exports = exports
    app.state.feed = feed
    return app
