"""The gate every request passes (docs/web.md#security):

* resumes the session from the signed cookie and puts `user`, `session` and `csrf_token`
  in `request.state` (also for route modules plugged in by other packages);
* sends anyone not logged in to `/login` (pages) or refuses them (POST), except on the
  public paths (login, status page, static files);
* refuses a POST without the right CSRF token (403): the session's token, or on the login
  form the double-submit cookie's. The body is read once here and replayed to the app:
  one announced or sent past `csrf.MAX_FORM_BYTES` gets 413, one not received within
  `web_body_timeout_seconds` 408 (web/connection_guard.py guards the request head);
* marks every non-public response `Cache-Control: no-store` and adds the security
  headers (no framing, no sniffing, no referrer, a same-origin content policy; HSTS when
  the request came over https).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from standby.web import csrf
from standby.web.context import WebContext
from standby.web.sessions import COOKIE, LOGIN_CSRF_COOKIE

PUBLIC_PATHS = frozenset(
    {"/login", "/status", "/status.json", "/healthz", "/favicon.ico", "/status/node.json"}
)
PUBLIC_PREFIXES = ("/static/",)
# The FHIR API (standby.api) authenticates its clients itself (bearer tokens, no cookies,
# no forms): none of this gate applies to it.
FHIR_PREFIX = "/fhir"
HSTS = "max-age=31536000"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AuthMiddleware:
    def __init__(self, app: ASGIApp, web: WebContext) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if (
            path.startswith(PUBLIC_PREFIXES)
            or path == FHIR_PREFIX
            or path.startswith(FHIR_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        public = path in PUBLIC_PATHS
        body = b""
        if scope["method"] == "POST":
            if _declared_length(request) > csrf.MAX_FORM_BYTES:
                await PlainTextResponse("Request too large.", 413)(scope, receive, send)
                return
            try:
                with anyio.fail_after(self.web.settings.web_body_timeout_seconds):
                    read = await _read_body(receive, csrf.MAX_FORM_BYTES)
            except TimeoutError:
                response = PlainTextResponse("The request's body did not arrive in time.", 408)
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return
            if read is None:
                await PlainTextResponse("Request too large.", 413)(scope, receive, send)
                return
            body = read
            receive = _replay(body, receive)
        now = self.web.clock()
        auth = await run_in_threadpool(self.web.sessions.resume, request.cookies.get(COOKIE), now)
        state = scope.setdefault("state", {})
        state["user"] = auth.user if auth else None
        state["session"] = auth.session if auth else None
        state["csrf_token"] = auth.session.csrf if auth else None
        state["address"] = client_address(scope)

        refusal = self._refusal(request, scope, body, public, auth is not None)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                if scope.get("scheme") == "https":  # served over TLS, or a trusted proxy's
                    headers.setdefault("strict-transport-security", HSTS)
                if not public:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(
        self, request: Request, scope: Scope, body: bytes, public: bool, logged_in: bool
    ) -> Response | None:
        method = scope["method"]
        if not public and not logged_in:
            if method in ("GET", "HEAD"):
                target = scope["path"] + (
                    "?" + scope["query_string"].decode() if scope["query_string"] else ""
                )
                return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            return PlainTextResponse("Not logged in (or the session has ended).", 403)
        if method == "POST":
            sent = csrf.token_from(
                body, request.headers.get("content-type", ""), request.headers.get(csrf.HEADER)
            )
            if scope["path"] == "/login":
                expected: Any = request.cookies.get(LOGIN_CSRF_COOKIE)
            else:
                expected = scope["state"]["csrf_token"]
            if not csrf.matches(expected, sent):
                return PlainTextResponse(
                    "Form refused: its security token is missing or out of date. "
                    "Go back, reload the page and try again.",
                    403,
                )
        return None


def _declared_length(request: Request) -> int:
    """The Content-Length the client announced (0 when absent; a malformed one counts as
    too large)."""
    value = request.headers.get("content-length")
    if value is None:
        return 0
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else 2**62


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """The body already read, then whatever the server sends next (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
