"""The clinician viewer as an ASGI app: `create_app(settings, store, *, clock=None)`.

How the app is put together (docs/web.md#architecture):

* `AuthMiddleware` (middleware.py) runs first on every request: session from the signed
  cookie → `request.state.user` / `.session` / `.csrf_token` / `.address`; login
  required except on public paths; CSRF on every POST; `Cache-Control: no-store` and
  security headers.
* Pages come from the modules in `ROUTE_MODULES`, in order (the first route matching a
  path wins). A page handler is `@page(Permission.X) def handler(pr: PageRequest)`
  (guard.py), which checks the role server-side; handlers call `standby.clinical` and
  `accounts_repo`, never SQL.

Plugging in pages of another package (the monitor does this with
`standby.web.monitor_routes`) — add the module's name to `ROUTE_MODULES` (or
`OPTIONAL_ROUTE_MODULES`, skipped if it cannot be imported). The module provides:

* `routes() -> list[BaseRoute]` — required. Handlers find the `WebContext` in
  `request.app.state.web` (settings, store, clock, `render`), the logged-in user in
  `request.state.user` (`.username`, `.role`, `.roles`, `.units`) and the CSRF token for
  their forms in `request.state.csrf_token` (field name `csrf_token`). Their paths need
  login unless listed in `middleware.PUBLIC_PATHS`.
* `NAV` — optional list of `(href, label, Permission | None)` menu links.
* `BANNERS` — optional list of template names included at the top of every page (the
  downtime banner: "monitor/banner.html", given `downtime` =
  `standby.monitor.status.current_status(store)`; it is included by default when the
  template exists).
* `context(request, web) -> dict` — optional hook adding names to every page's template
  context.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from standby.clinical.census import units
from standby.clinical.read_cache import ReadCache
from standby.settings import Settings, zone
from standby.store.base import Store
from standby.store.group_commit import GroupCommit
from standby.web import accounts_repo, schema
from standby.web.accounts import LoginPolicy
from standby.web.context import TEMPLATE_DIR, WebContext, environment
from standby.web.middleware import AuthMiddleware
from standby.web.sessions import SessionManager
from standby.web.times import Clock

STATIC_DIR = Path(__file__).parent / "static"

ROUTE_MODULES = [
    "standby.web.routes.auth",
    "standby.web.routes.status",
    "standby.web.routes.home",
    "standby.web.routes.census",
    "standby.web.routes.search",
    "standby.web.routes.patient",
    "standby.web.routes.schedules",
    "standby.web.routes.printing",
    "standby.web.routes.admin",
]
OPTIONAL_ROUTE_MODULES = [
    "standby.web.monitor_routes",
]
DEFAULT_BANNERS = ["monitor/banner.html"]


def _modules() -> list[ModuleType]:
    mods = [importlib.import_module(name) for name in ROUTE_MODULES]
    for name in OPTIONAL_ROUTE_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ImportError:
            continue
    return mods


def create_app(settings: Settings, store: Store, *, clock: Clock | None = None) -> Starlette:
    """The viewer over `store`. `clock` lets tests move time (by default the time now, in
    the hospital's zone: dose times such as 09:00 are worked out in the zone of `now`)."""
    schema.ensure(store)
    tz = zone(settings)
    web = WebContext(
        settings=settings,
        store=store,
        clock=clock or (lambda: datetime.now(tz)),
        sessions=SessionManager(
            store,
            accounts_repo.signing_secret(store),
            timedelta(minutes=settings.session_idle_minutes),
        ),
        policy=LoginPolicy(
            max_failures=settings.login_max_failures,
            address_max_failures=settings.login_address_max_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
        ),
        break_glass_for=timedelta(minutes=settings.break_glass_minutes),
        audit_log=GroupCommit(lambda events: accounts_repo.append_audit_many(store, events)),
        summaries=ReadCache(store, max_age=settings.summary_cache_seconds),
        zone=tz,
        env=environment(tz),
    )
    web.banner_templates = [b for b in DEFAULT_BANNERS if (TEMPLATE_DIR / b).is_file()]
    routes: list[BaseRoute] = []
    for mod in _modules():
        routes.extend(mod.routes())
        web.nav_links.extend(getattr(mod, "NAV", []))
        for banner in getattr(mod, "BANNERS", []):
            if banner not in web.banner_templates:
                web.banner_templates.append(banner)
        hook = getattr(mod, "context", None)
        if callable(hook):
            web.context_hooks.append(hook)
    routes.append(Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"))
    threads = settings.web_threads

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # pages run in worker threads (the store is synchronous); a few per process
        # keep the CPU busy while one waits on the database, without many threads
        # fighting over the interpreter lock
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        # load the hospital's directory before the first nurse asks, then set everything
        # loaded so far aside from the garbage collector: its full passes then scan only
        # what pages allocate (fewer slow outliers)
        with contextlib.suppress(Exception):  # an empty or unreachable store: pages say so
            await anyio.to_thread.run_sync(lambda: units(store))
        gc.collect()
        gc.freeze()
        yield

    app = Starlette(
        routes=routes, middleware=[Middleware(AuthMiddleware, web=web)], lifespan=lifespan
    )
    app.state.web = web
    app.state.store = store
    app.state.settings = settings
    return app
