"""The clinician viewer as an ASGI app: `create_app(settings, store, *, clock=None)`.

How the app is put together (docs/web.md#architecture):

* `AuthMiddleware` (middleware.py) runs first on every request: session from the signed
  cookie → `request.state.user` / `.session` / `.csrf_token` / `.address`; login
  required except on public paths; CSRF on every POST; `Cache-Control: no-store` and
  security headers.
* Pages come from the modules of `web/routes/`, in the order of `ROUTES` (the first route
  matching a path wins). A page handler is `@page(Permission.X) def handler(pr:
  PageRequest)` (guard.py), which checks the role server-side; handlers call
  `standby.clinical`, `standby.monitor` and `standby.accounts`, never SQL.

A page module provides `routes() -> list[BaseRoute]`, and `NAV` (menu links, each
`(href, label, Permission | None)`) when it has a menu entry. Handlers find the
`WebContext` in `request.app.state.web` (settings, store, clock, `render`), the logged-in
user in `request.state.user` and the CSRF token for their forms in
`request.state.csrf_token` (field name `csrf_token`). Their paths need login unless listed
in `middleware.PUBLIC_PATHS`. The monitor's pages (routes/monitor.py) add the downtime
banner (`BANNERS`: templates included at the top of every page).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from standby.accounts import cookie_key, schema
from standby.accounts.lockout import LoginPolicy, RefusalLog
from standby.accounts.roles import Permission
from standby.api.app import create_fhir_app
from standby.api.responses import ApiContext
from standby.api.smart import Authority
from standby.clinical.census import units
from standby.clinical.read_cache import ReadCache
from standby.edge import routes as edge_routes
from standby.settings import Settings, standard_times, zone
from standby.store.base import ReadOnlyStore, Store
from standby.store.group_commit import GroupCommit
from standby.web import audit, read_only
from standby.web.context import WebContext, environment
from standby.web.middleware import FHIR_PREFIX, AuthMiddleware
from standby.web.refusals import RefusalWatch
from standby.web.routes import (
    admin,
    adt,
    auth,
    calls,
    census,
    corrections,
    documentation,
    gaps,
    home,
    matching,
    monitor,
    patient,
    printing,
    rebook,
    registration,
    review,
    schedules,
    search,
    status,
    transcription,
    triage,
)
from standby.web.sessions import SessionManager
from standby.web.times import Clock

STATIC_DIR = Path(__file__).parent / "static"

# The pages, in order: the first route matching a path wins.
ROUTES: tuple[Callable[[], list[BaseRoute]], ...] = (
    auth.routes,
    status.routes,
    home.routes,
    census.routes,
    search.routes,
    patient.routes,
    documentation.routes,
    adt.routes,
    registration.routes,
    corrections.routes,
    transcription.routes,
    schedules.routes,
    triage.routes,
    calls.routes,
    rebook.routes,
    printing.routes,
    matching.routes,
    gaps.routes,
    review.routes,
    admin.routes,
    monitor.routes,
    edge_routes.routes,
)
# The menu, in this order: (href, label, the permission it needs or None).
NAV: tuple[tuple[str, str, Permission | None], ...] = (
    *census.NAV,
    *search.NAV,
    *registration.NAV,
    *transcription.NAV,
    *schedules.NAV,
    *matching.NAV,
    *gaps.NAV,
    *triage.NAV,
    *review.NAV,
    *admin.NAV,
    *monitor.NAV,
)
# Templates included at the top of every page (the downtime banner).
BANNERS: tuple[str, ...] = (*monitor.BANNERS, *edge_routes.BANNERS)


def export_directory(settings: Settings) -> Path:
    """Where the FHIR API's `$export` writes its files: beside the SQLite file
    (`<db>.exports`), or for PostgreSQL a directory of the machine's temporary space named
    after the database (the worker processes of one node share it)."""
    if not settings.database_url:
        return Path(f"{settings.db}.exports")
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"standby-exports-{digest}"


def create_app(settings: Settings, store: Store, *, clock: Clock | None = None) -> Starlette:
    """The viewer over `store`. `clock` lets tests move time (by default the time now, in
    the hospital's zone: dose times such as 09:00 are worked out in the zone of `now`)."""
    schema.ensure(store)
    tz = zone(settings)
    anchors = audit.anchoring(settings)
    web = WebContext(
        settings=settings,
        store=store,
        clock=clock or (lambda: datetime.now(tz)),
        sessions=SessionManager(
            store,
            cookie_key.signing_secret(store, cookie_key.key_file(settings)),
            timedelta(minutes=settings.session_idle_minutes),
            timedelta(hours=settings.session_absolute_hours),
        ),
        policy=LoginPolicy(
            max_failures=settings.login_max_failures,
            account_max_failures=settings.login_account_max_failures,
            address_max_failures=settings.login_address_max_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            backoff=timedelta(seconds=settings.login_backoff_seconds),
        ),
        refusals=RefusalLog(timedelta(seconds=settings.audit_refusal_interval_seconds)),
        refusal_watch=RefusalWatch(
            settings.refusal_alert_count, timedelta(seconds=settings.refusal_alert_seconds)
        ),
        break_glass_for=timedelta(minutes=settings.break_glass_minutes),
        audit_log=GroupCommit(audit.writer(store, anchors)),
        summaries=ReadCache(
            store,
            max_age=settings.summary_cache_seconds,
            standard_times=standard_times(settings),
        ),
        zone=tz,
        env=environment(tz),
    )
    web.banner_templates = list(BANNERS)
    web.env.globals["edge_state"] = edge_routes.banner_state
    web.env.globals["edge_of"] = edge_routes.central_of
    web.nav_links = list(NAV)
    routes = [route for page_routes in ROUTES for route in page_routes()]
    routes.append(Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"))
    # the read-only FHIR API for other systems: its own auth (SMART Backend Services)
    api = ApiContext(
        store=store,
        authority=Authority(store),
        data_as_of=web.data_as_of,
        audit=web.audit_log.submit,
        clock=web.clock,
        export_dir=export_directory(settings),
        body_timeout=settings.web_body_timeout_seconds,
        base_urls=tuple(u.strip() for u in settings.fhir_base_url.split(",") if u.strip()),
    )
    routes.insert(0, Mount(FHIR_PREFIX, create_fhir_app(api), name="fhir"))
    threads = settings.web_threads

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # pages run in worker threads (the store is synchronous); a few per process
        # keep the CPU busy while one waits on the database, without many threads
        # fighting over the interpreter lock
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        # load the hospital's directory and the header's "data as of" before the first
        # nurse asks, then set everything loaded so far aside from the garbage collector:
        # its full passes then scan only what pages allocate (fewer slow outliers)
        with contextlib.suppress(Exception):  # an empty or unreachable store: pages say so
            await anyio.to_thread.run_sync(lambda: (units(store), web.header()))
        gc.collect()
        gc.freeze()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(audit.anchor_at_intervals, store, anchors)
            yield
            tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(lambda: audit.anchor_now(store, anchors, force=True))

    app = Starlette(
        routes=routes,
        middleware=[Middleware(AuthMiddleware, web=web)],
        lifespan=lifespan,
        exception_handlers={ReadOnlyStore: read_only.refused_write},
    )
    app.state.web = web
    app.state.store = store
    app.state.settings = settings
    return app
