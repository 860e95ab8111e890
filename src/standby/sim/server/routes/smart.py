"""SMART Backend Services discovery and token endpoint
(https://hl7.org/fhir/smart-app-launch/backend-services.html):
`GET /.well-known/smart-configuration` and `POST /auth/token` (client_credentials with a
client-assertion JWT, checked by standby.sim.server.smart_auth; refusals are RFC 6749 §5.2
JSON with status 400)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url
from standby.sim.server.smart_auth import TokenRequestRefused


async def smart_configuration(request: Request) -> Response:
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
    auth = ehr_context(request).auth
    if auth is None:
        return JSONResponse({"error": "invalid_request", "error_description": "auth is off"}, 400)
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        body = auth.issue(form, f"{base_url(request)}/auth/token")
    except TokenRequestRefused as e:
        return JSONResponse({"error": e.error, "error_description": e.description}, 400)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        Route("/.well-known/smart-configuration", smart_configuration, methods=["GET"]),
        Route("/auth/token", token, methods=["POST"]),
    ]
