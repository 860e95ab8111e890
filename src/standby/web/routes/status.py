"""`/status`: the public status page (no login): data as of, lag, sync health and the EHR's
downtime state. It never shows patient data (tests/web/test_web_status.py checks). It does
not reload itself (a reload would throw a keyboard or screen-reader user's place back to the
top): it says when it was generated and offers a reload link."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from standby.web.context import WebContext


async def status_page(request: Request) -> Response:
    web: WebContext = request.app.state.web

    def render() -> Response:
        response = web.render(request, "status.html", {"public": True})
        response.headers["cache-control"] = "no-store"
        return response

    return await run_in_threadpool(render)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def routes() -> list[BaseRoute]:
    return [Route("/status", status_page), Route("/healthz", healthz)]
