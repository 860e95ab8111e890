"""How the API answers: FHIR JSON with the replica's "data as of" on every answer, and every
error as an OperationOutcome with its status (http.html#2.21.0.5).

"Data as of" (`sync.status.data_as_of`, handed in by the web app) goes in the header
`X-Standby-Data-As-Of` of every answer and, on Bundles, in `Bundle.meta.tag` (system
`DATA_AS_OF_SYSTEM`, code the instant). A resource read on its own is sent byte for byte
as the EHR sent it (so it stays equal to the EHR's), with the header only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from standby.accounts.records import AuditEvent
from standby.api.smart import Authority, Grant
from standby.clock import instant, parse_instant
from standby.fhir.outcomes import FhirError, outcome
from standby.store.base import Store, StoredResource
from standby.store.group_commit import Alongside

FHIR_JSON = "application/fhir+json"
AS_OF_HEADER = "X-Standby-Data-As-Of"
DATA_AS_OF_SYSTEM = "https://standby.invalid/fhir/CodeSystem/data-as-of"
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


@dataclass
class ApiContext:
    """What the API's handlers work with (in `request.app.state.api`)."""

    store: Store
    authority: Authority
    data_as_of: Callable[[], datetime | None]  # the replica's "data as of" (None: unknown)
    # writes audit lines (and the rows that belong with them), returns once committed
    audit: Callable[[list[AuditEvent | Alongside]], None]
    clock: Callable[[], datetime]
    viewer_path: str = "/"  # where clinicians document during a downtime
    export_dir: Path | None = None  # where `$export` writes its files (None: no `$export`)
    #: the public base URLs of the API (`STANDBY_FHIR_BASE_URL`); empty: as the Host names it
    base_urls: tuple[str, ...] = ()
    body_timeout: float = 30.0  # seconds a request body (a token request, a POST _search) may take

    def as_of(self) -> str | None:
        try:
            t = self.data_as_of()
        except Exception:  # an unreadable status says "unknown", never fails a read
            return None
        return instant(t) if t is not None else None


def api(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.api
    return ctx


def grant(request: Request) -> Grant:
    g: Grant = request.state.grant
    return g


def base_url(request: Request) -> str:
    """The FHIR base as the client addressed it (links and fullUrls are built on it)."""
    root = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}".rstrip("/")


def token_urls(request: Request) -> list[str]:
    """The token endpoint's URLs a client assertion's `aud` may name: those of the
    configured base URLs, else the one the request's Host names (which the sender
    chooses: see `STANDBY_FHIR_BASE_URL`)."""
    configured = [f"{b.rstrip('/')}/auth/token" for b in api(request).base_urls]
    return configured or [f"{base_url(request)}/auth/token"]


def tag_as_of(bundle: dict[str, Any], as_of: str | None) -> dict[str, Any]:
    """`Bundle.meta.tag` saying how old the data is (and no empty `entry`: FHIR has no empty
    arrays)."""
    if not bundle.get("entry"):
        bundle.pop("entry", None)
    bundle["meta"] = {
        "tag": [
            {
                "system": DATA_AS_OF_SYSTEM,
                "code": as_of or "unknown",
                "display": f"data as of {as_of}" if as_of else "data as of: unknown",
            }
        ]
    }
    return bundle


def fhir_response(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`body` as FHIR JSON (bytes are sent as they are) with the data-as-of header."""
    h = {AS_OF_HEADER: api(request).as_of() or "unknown", "Cache-Control": "no-store"}
    h.update(headers or {})
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=FHIR_JSON, headers=h)


def resource_headers(sr: StoredResource) -> dict[str, str]:
    """`ETag` and `Last-Modified` (http.html#versioning)."""
    lu = datetime.fromisoformat(sr.last_updated.replace("Z", "+00:00"))
    # HTTP dates are GMT; a source may stamp its own offset (or none: read as UTC)
    lu = lu.replace(tzinfo=UTC) if lu.tzinfo is None else lu.astimezone(UTC)
    return {"ETag": f'W/"{sr.version_id}"', "Last-Modified": format_datetime(lu, usegmt=True)}


def check_format(request: Request) -> None:
    """406 when `_format` or `Accept` asks only for something other than JSON."""
    fmt = request.query_params.get("_format")
    accept = request.headers.get("accept", "").lower()
    wanted = [a.split(";")[0].strip() for a in accept.split(",") if a.strip()]
    ok = not wanted or any(w in JSON_FORMATS or w in ("*/*", "application/*") for w in wanted)
    if (fmt is not None and fmt.split(";")[0] not in JSON_FORMATS) or not ok:
        raise FhirError("not-supported", "only application/fhir+json is served", status=406)


#: Digits a paging number may have: more cannot be a row or a sequence (SQL's BIGINT).
MAX_DIGITS = 18


def whole_number(name: str, raw: str, *, most: int | None = None) -> int:
    """A query parameter that must be a whole number (ASCII digits: `str.isdigit` also
    takes "²", which `int` refuses), at most `most` (larger is cut to it); 400 otherwise."""
    if not (raw.isascii() and raw.isdigit()):
        raise FhirError("invalid", f"{name} must be a whole number, not {raw[:40]!r}")
    if len(raw.lstrip("0")) > MAX_DIGITS:
        if most is None:
            raise FhirError("invalid", f"{name} is too large: {raw[:40]}...")
        return most
    n = int(raw)
    return n if most is None else min(n, most)


def instant_param(name: str, raw: str | None) -> str | None:
    """A query parameter that must be an instant (`_since`): 400 when it is not one."""
    if raw is None:
        return None
    try:
        parse_instant(raw)
    except ValueError:
        raise FhirError("invalid", f"{name} must be an instant, not {raw[:60]!r}") from None
    return raw


async def fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return fhir_response(request, exc.outcome, status=exc.status, headers=exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "exception")
    return fhir_response(request, outcome(code, str(exc.detail)), status=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    return fhir_response(
        request, outcome("exception", f"internal error: {type(exc).__name__}"), status=500
    )


#: The one place errors become answers, each an OperationOutcome.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    FhirError: fhir_error,
    HTTPException: http_error,
    Exception: server_error,
}
