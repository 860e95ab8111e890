"""How the simulated EHR answers: FHIR JSON bodies and headers, the 406 for other formats,
and every error as an OperationOutcome with its status (http.html)."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

from standby.fhir.outcomes import FhirError, outcome
from standby.store import StoredResource

FHIR_JSON = "application/fhir+json"
_JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def base_url(request: Request) -> str:
    """The FHIR base as the client addressed it (links and Locations are built on it)."""
    return str(request.base_url).rstrip("/")


def resource_headers(sr: StoredResource, base: str) -> dict[str, str]:
    """`ETag`, `Last-Modified` and `Location` (http.html#versioning)."""
    lu = datetime.fromisoformat(sr.last_updated.replace("Z", "+00:00"))
    return {
        "ETag": f'W/"{sr.version_id}"',
        "Last-Modified": format_datetime(lu, usegmt=True),
        "Location": f"{base}/{sr.resource_type}/{sr.id}/_history/{sr.version_id}",
    }


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


async def fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return fhir_response(exc.outcome, status=exc.status, headers=exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "exception")
    return fhir_response(outcome(code, str(exc.detail)), status=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    return fhir_response(outcome("exception", f"internal error: {type(exc).__name__}"), 500)


#: The one place errors become answers: FhirError with its status, Starlette's 404/405, and
#: anything else as a 500, each an OperationOutcome.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    FhirError: fhir_error,
    HTTPException: http_error,
    Exception: server_error,
}
