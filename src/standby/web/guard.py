"""`@page(permission)`: the server-side check in front of every page of the viewer.

A page handler is a plain function `(PageRequest) -> Response`, run in a worker thread
(the store is synchronous). The decorator refuses users whose role lacks the permission
(403, rendered), parses the form of a POST, and hands the handler what it needs. The
middleware has already checked login and CSRF.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.accounts.records import User
from standby.accounts.roles import Permission, can
from standby.web import audit
from standby.web.context import WebContext


@dataclass(frozen=True)
class PageRequest:
    request: Request
    web: WebContext
    user: User
    now: datetime
    form: dict[str, str]

    @property
    def address(self) -> str:
        return str(getattr(self.request.state, "address", "unknown"))

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> Response:
        return self.web.render(self.request, template, context, status)

    def audit(self, action: str, patient_id: str | None, detail: str = "") -> None:
        audit.record(self, action, patient_id, detail)

    def audit_many(self, action: str, patient_ids: list[str], detail: str = "") -> None:
        audit.record_many(self, action, patient_ids, detail)

    def forbidden(self, message: str) -> Response:
        return forbidden(self.request, self.web, message)


def forbidden(request: Request, web: WebContext, message: str) -> Response:
    return web.render(request, "error.html", {"title": "Not allowed", "message": message}, 403)


def not_found(pr: PageRequest, message: str) -> Response:
    return pr.render("error.html", {"title": "Not found", "message": message}, 404)


Handler = Callable[[PageRequest], Response]


def page(
    permission: Permission | None,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            web: WebContext = request.app.state.web
            user: User | None = getattr(request.state, "user", None)
            if user is None:  # the middleware lets no one through; belt and braces
                return Response("Not logged in.", status_code=403)
            form: dict[str, str] = {}
            if request.method == "POST":
                raw = await request.form()
                form = {k: v for k, v in raw.items() if isinstance(v, str)}

            def call() -> Response:
                if permission is not None and not can(user.role, permission):
                    return forbidden(
                        request, web, f"Your role ({user.role}) does not allow this page."
                    )
                return fn(PageRequest(request, web, user, web.now(), form))

            return await run_in_threadpool(call)

        return endpoint

    return wrap
