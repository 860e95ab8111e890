"""`POST /`: batch and transaction Bundles (http.html#transaction), processed by
standby.sim.server.transaction in the thread pool (transactions refused with the strict
mode `no-transaction`)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.sim.server import transaction
from standby.sim.server.context import ehr_context
from standby.sim.server.responses import base_url, fhir_response
from standby.sim.server.strict import refuse


async def base_post(request: Request) -> Response:
    bundle = transaction.parse(await request.body())
    ctx = ehr_context(request)
    if ctx.strict.no_transaction and bundle.get("type") == "transaction":
        raise refuse("a transaction Bundle")
    store = ctx.store
    result = await run_in_threadpool(transaction.process, store, bundle, base_url(request))
    return fhir_response(result)


def routes() -> list[BaseRoute]:
    return [Route("/", base_post, methods=["POST"])]
