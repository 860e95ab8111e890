"""The resource-server side of SMART Backend Services: with auth on, every FHIR request and
export file needs a live bearer token (401 + `WWW-Authenticate: Bearer` + OperationOutcome
otherwise); the CapabilityStatement, SMART discovery, the token endpoint and the admin API
stay open."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from standby.fhir.outcomes import outcome
from standby.sim.server.responses import fhir_response
from standby.sim.server.smart_auth import SmartAuthConfig

OPEN_PREFIXES = ("/metadata", "/.well-known/", "/auth/token", "/_admin")


class TokenGuard:
    """401 for FHIR requests without a valid token; passes everything through when `auth`
    is None."""

    def __init__(self, app: ASGIApp, auth: SmartAuthConfig | None) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.auth is None or scope["type"] != "http" or scope["path"].startswith(OPEN_PREFIXES):
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
