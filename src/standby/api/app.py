"""The API as an ASGI app, mounted by the web app under `/fhir` (docs/fhir-api.md).

`Guard` runs first on every request: a write interaction (POST, PUT, PATCH, DELETE, other
than the token request, `POST _search` and the DELETE that cancels an export) answers
405 with an OperationOutcome saying where to document instead; a format other than JSON
(NDJSON for export files) 406; anything but the
CapabilityStatement, the SMART configuration and the token endpoint needs a bearer token
(401 + `WWW-Authenticate` otherwise), whose grant goes in `request.state.grant` for the
handlers' per-type scope checks (`access.py`).

Operations (`$everything`, `$export` and its status and files, `$summary`) are entries of
`ROUTES` placed before the generic `/{type}/{id}` patterns.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from standby.api import capability, export, reads, search, summary_op
from standby.api.responses import (
    EXCEPTION_HANDLERS,
    ApiContext,
    api,
    base_url,
    check_format,
    fhir_response,
    token_urls,
)
from standby.api.smart import TokenRequestRefused
from standby.clock import instant
from standby.fhir.outcomes import FhirError, outcome

PUBLIC = ("/metadata", "/.well-known/smart-configuration", "/auth/token")
READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_FORM_BYTES = 64 * 1024


def write_refusal(viewer: str) -> str:
    return (
        "Standby is a read-only downtime replica of the EHR: it accepts no writes. During a"
        f" downtime, document in Standby's viewer ({viewer}: the patient's page, Document);"
        " once the EHR is back, in the EHR. What was documented in Standby is filed into the"
        " EHR after the downtime."
    )


def _software_version() -> str:
    try:
        return version("standby")
    except PackageNotFoundError:
        return "unknown"


async def metadata(request: Request) -> Response:
    base = base_url(request)
    now = instant(api(request).clock())
    return fhir_response(
        request,
        capability.capability_statement(base, now=now, software_version=_software_version()),
    )


async def smart_configuration(request: Request) -> Response:
    conf = capability.smart_configuration(base_url(request))
    urls = token_urls(request)
    if conf["token_endpoint"] not in urls:  # the one a client's assertion may name
        conf["token_endpoint"] = urls[0]
    return JSONResponse(conf)


async def token(request: Request) -> Response:
    """The token endpoint (RFC 6749 §4.4 with a JWT client assertion, RFC 7523); its errors
    are OAuth's JSON (§5.2), as clients of a token endpoint expect."""
    ctx = api(request)
    raw = await request.body()
    form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
    try:
        answer = await run_in_threadpool(ctx.authority.issue, form, token_urls(request))
    except TokenRequestRefused as e:
        status = 401 if e.error == "invalid_client" else 400
        return JSONResponse(
            {"error": e.error, "error_description": e.description},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


ROUTES: list[BaseRoute] = [
    Route("/metadata", metadata, methods=["GET"]),
    Route("/.well-known/smart-configuration", smart_configuration, methods=["GET"]),
    Route("/auth/token", token, methods=["POST"]),
    Route("/_history", reads.history_system, methods=["GET"]),
    Route("/Patient/{id}/$everything", reads.everything, methods=["GET"]),
    Route("/$export", export.kickoff, methods=["GET"]),
    Route("/Patient/$export", export.kickoff, methods=["GET"]),
    Route("/Group/{id}/$export", export.kickoff, methods=["GET"]),
    Route("/$export-status/{job}", export.status, methods=["GET", "DELETE"]),
    Route("/$export-file/{job}/{file}", export.file, methods=["GET"]),
    Route("/Patient/{id}/$summary", summary_op.summary, methods=["GET"]),
    Route("/{type}/_history", reads.history_type, methods=["GET"]),
    Route("/{type}/_search", search.search_post, methods=["POST"]),
    Route("/{type}/{id}/_history/{vid}", reads.vread, methods=["GET"]),
    Route("/{type}/{id}/_history", reads.history_instance, methods=["GET"]),
    Route("/{type}/{id}", reads.read, methods=["GET"]),
    Route("/{type}", search.search_get, methods=["GET"]),
]


class Guard:
    """Writes refused, formats checked, bearer tokens required (see the module's doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = scope["path"][len(scope.get("root_path", "")) :] or "/"
        method = scope["method"]
        try:
            self._check(request, path, method)
            if method in WRITE_METHODS:  # those let through have a small body: read it now
                receive = await _bounded_body(receive, api(request).body_timeout)
                request = Request(scope, receive)
        except FhirError as e:
            await fhir_response(request, e.outcome, status=e.status, headers=e.headers)(
                scope, receive, send
            )
            return
        if path not in PUBLIC:
            ctx = api(request)
            checked = ctx.authority.check(request.headers.get("authorization"))
            if isinstance(checked, str):
                refusal = fhir_response(
                    request,
                    outcome("login", f"not authenticated: {checked}"),
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="standby-fhir"'},
                )
                await refusal(scope, receive, send)
                return
            scope.setdefault("state", {})["grant"] = checked

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)

    def _check(self, request: Request, path: str, method: str) -> None:
        allowed_post = path == "/auth/token" or path.endswith("/_search")
        cancel = method == "DELETE" and path.startswith("/$export-status/")
        if method not in READ_METHODS and method not in WRITE_METHODS:
            raise FhirError(
                "not-supported", f"{method} is not supported here", status=405,
                headers={"Allow": "GET, HEAD"},
            )  # fmt: skip
        if method in WRITE_METHODS and not ((method == "POST" and allowed_post) or cancel):
            raise FhirError(
                "not-supported",
                write_refusal(
                    f"{request.url.scheme}://{request.url.netloc}{api(request).viewer_path}"
                ),
                status=405,
                headers={"Allow": "GET, HEAD"},
            )
        length = request.headers.get("content-length", "0").strip()
        if not (length.isascii() and length.isdigit()) or len(length) > 9:
            raise FhirError("too-costly", "request body too large", status=413)
        if int(length) > MAX_FORM_BYTES:
            raise FhirError("too-costly", "request body too large", status=413)
        # export files are NDJSON (`Accept: application/fhir+ndjson`)
        if path not in ("/auth/token", "/.well-known/smart-configuration") and not (
            path.startswith("/$export-file/")
        ):
            check_format(request)


async def _bounded_body(receive: Receive, timeout: float) -> Receive:
    """The request's body read now, at most `MAX_FORM_BYTES` (413) within `timeout` seconds
    (408), and handed on as one message: a chunked body announces no length, so the
    `Content-Length` check alone let the token endpoint, open to anyone, read any amount
    (the viewer's own body limit stops at `/fhir`)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_FORM_BYTES:
                    raise FhirError("too-costly", "request body too large", status=413)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise FhirError(
            "timeout", "the request's body did not arrive in time", status=408,
            headers={"Connection": "close"},
        ) from None  # fmt: skip
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def create_fhir_app(ctx: ApiContext) -> Starlette:
    """The API over `ctx.store` (mount it under `/fhir`)."""
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(Guard)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.api = ctx
    return app
