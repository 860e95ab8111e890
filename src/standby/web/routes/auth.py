"""`/login` and `/logout` (docs/web.md#login-and-lockout). A login runs in the threads
that check passwords (`WebContext.login_limiter`), not in those that serve pages."""

from __future__ import annotations

import secrets

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts import repository, users
from standby.accounts.records import AuditEvent
from standby.accounts.users import LoginOutcome
from standby.clock import instant
from standby.web.context import WebContext
from standby.web.middleware import client_address
from standby.web.sessions import COOKIE, LOGIN_CSRF_COOKIE


def _secure(request: Request, web: WebContext) -> bool:
    if web.settings.cookie_secure is not None:
        return web.settings.cookie_secure
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no `//host`, no scheme): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request, web: WebContext, *, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web.render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "error": error,
            "username": username,
            "next": _safe_next(request.query_params.get("next")),
        },
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, web),
        path="/login",
    )
    response.headers["cache-control"] = "no-store"
    return response


async def login_form(request: Request) -> Response:
    web: WebContext = request.app.state.web
    if getattr(request.state, "user", None) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
    return await run_in_threadpool(_login_page, request, web)


async def login(request: Request) -> Response:
    web: WebContext = request.app.state.web
    form = await request.form()
    username = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    address = client_address(request.scope)

    def attempt() -> Response:
        now = web.clock()
        result = users.authenticate(
            web.store, username, password, address, now, web.policy, web.refusals
        )
        if result.outcome is LoginOutcome.OK and result.user is not None:
            web.sessions.end(request.cookies.get(COOKIE))  # no session fixation
            _, cookie = web.sessions.start(result.user, address, now)
            response: Response = RedirectResponse(_safe_next(str(form.get("next", "/"))), 303)
            response.set_cookie(
                COOKIE,
                cookie,
                httponly=True,
                samesite="lax",
                secure=_secure(request, web),
                path="/",
            )
            response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
            return response
        if result.outcome is LoginOutcome.BAD_CREDENTIALS:
            return _login_page(
                request, web, error="Wrong username or password.", username=username, status=401
            )
        minutes = max(1, (result.retry_after_seconds + 59) // 60)
        what = (
            "This account is"
            if result.outcome is LoginOutcome.ACCOUNT_LOCKED
            else ("Logins from this device are")
        )
        response = _login_page(
            request,
            web,
            username=username,
            status=429,
            error=f"{what} locked after too many failed attempts. Try again in {minutes} "
            "min, or ask an admin.",
        )
        response.headers["retry-after"] = str(result.retry_after_seconds)
        return response

    return await anyio.to_thread.run_sync(attempt, limiter=web.login_limiter())


async def logout(request: Request) -> Response:
    web: WebContext = request.app.state.web
    user = getattr(request.state, "user", None)
    await run_in_threadpool(web.sessions.end, request.cookies.get(COOKIE))
    if user is not None:
        event = AuditEvent(
            instant(web.clock()),
            user.username,
            user.role,
            "logout",
            None,
            "/logout",
            client_address(request.scope),
            "",
        )
        await run_in_threadpool(repository.append_audit, web.store, event)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
