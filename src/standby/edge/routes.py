"""`GET /status/node.json` — public (no login, no patient data), like `/status.json`: what
this node says of itself to the edge nodes that copy from it (`standby.edge.upstream`):
its "data as of", its monitor's view of the EHR, whether its sync reaches the EHR.

The edge banner (`templates/edge/banner.html`) shows, on an edge node's every page, whose
copy this is, its data as of, and whether the EHR or the central node is what is down.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from standby.edge.upstream import STATUS_PATH, edge_of, edge_state, node_status

BANNERS = ["edge/banner.html"]


async def node_status_json(request: Request) -> Response:
    store = request.app.state.web.store
    said = await run_in_threadpool(node_status, store)
    return JSONResponse(said, headers={"cache-control": "no-store"})


def banner_state(store: object) -> object:
    """The edge state for the banner; None on a central node or when it cannot be read."""
    try:
        return edge_state(store)  # type: ignore[arg-type]
    except Exception:  # never let the banner take a clinical page down
        return None


def central_of(store: object) -> str | None:
    """The central node an edge node copies from, for the pages that must say what the node
    does not hold (the schedules); None on a central node or when it cannot be read."""
    try:
        return edge_of(store)  # type: ignore[arg-type]
    except Exception:  # never let the note take a page down
        return None


def routes() -> list[BaseRoute]:
    return [Route(STATUS_PATH, node_status_json, name="edge_node_status")]
