"""`GET /metadata`: the CapabilityStatement (standby.sim.server.capability)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.sim.server.capability import capability_statement
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url, fhir_response


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def metadata(request: Request) -> Response:
    ehr = ehr_context(request)
    statement = capability_statement(
        base_url(request), auth=ehr.auth is not None, now=_now(), strict=ehr.strict
    )
    return fhir_response(statement)


def routes() -> list[BaseRoute]:
    return [Route("/metadata", metadata, methods=["GET"])]
