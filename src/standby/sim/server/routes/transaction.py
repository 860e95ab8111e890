"""`POST /`: batch and transaction Bundles (http.html#transaction), processed by
standby.sim.server.transaction in the thread pool."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.sim.server import transaction
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url, fhir_response


async def base_post(request: Request) -> Response:
    bundle = transaction.parse(await request.body())
    store = ehr_context(request).store
    result = await run_in_threadpool(transaction.process, store, bundle, base_url(request))
    return fhir_response(result)


def routes() -> list[BaseRoute]:
    return [Route("/", base_post, methods=["POST"])]
