"""The page a write gets while the replica's database only reads (a PostgreSQL hot
standby not yet promoted, docs/postgresql.md): 503 with what still works and what to do,
never a 500. Reading pages go on working; sign-in, documentation and every other form
that writes wait for the promotion."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.web.context import WebContext

TITLE = "Read-only for now"
MESSAGE = (
    "The replica's database is a read-only standby: the primary database is unreachable "
    "and the standby has not been promoted yet. Patients, census, MAR and printed packets "
    "can still be read by anyone already signed in; signing in and anything you write "
    "(documentation, registrations, corrections) must wait until IT promotes the standby. "
    "Write on paper meanwhile, or use another Standby node."
)


async def refused_write(request: Request, exc: Exception) -> Response:
    """Starlette's handler for `standby.store.ReadOnlyStore`."""
    web: WebContext = request.app.state.web
    return await run_in_threadpool(
        web.render, request, "error.html", {"title": TITLE, "message": MESSAGE}, 503
    )
