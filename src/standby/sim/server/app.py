"""The Starlette app of the simulated EHR: `create_app(store, auth=..., faults=..., feed=...)`.

How the app is put together (docs/simulated-ehr.md#how-the-server-is-put-together):

* Middleware, outermost first: `FaultMiddleware` (faults.py: latency, injected 503/429,
  outage; admin paths exempt), `TokenGuard` (token_guard.py: a live bearer token on every
  FHIR request when auth is on), `FormatMiddleware` (responses.py: 406 for other formats).
* Routes come from the modules of `routes/`, one per FHIR interaction or service, each
  with `routes() -> list[BaseRoute]`. Their order matters (the first full match wins):
  the fixed paths (`/metadata`, SMART, `/_admin`, `$export`, `/_export`) and history come
  before the `/{type}/{id}` of read, update and delete. Handlers find the store and the
  rest in `ehr_context(request)` (context.py).
* Errors become OperationOutcomes in one place: `responses.EXCEPTION_HANDLERS`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from standby.sim.server.bulk_export import ExportManager
from standby.sim.server.context import EhrContext
from standby.sim.server.faults import FaultMiddleware, Faults
from standby.sim.server.feed import Feed
from standby.sim.server.responses import EXCEPTION_HANDLERS, FormatMiddleware
from standby.sim.server.routes import (
    admin,
    export,
    history,
    metadata,
    read,
    search,
    smart,
    transaction,
    write,
)
from standby.sim.server.smart_auth import SmartAuthConfig
from standby.sim.server.strict import Strictness
from standby.sim.server.token_guard import TokenGuard
from standby.store import Store


def all_routes() -> list[BaseRoute]:
    """Every route, in matching order."""
    return [
        *metadata.routes(),
        *smart.routes(),
        *admin.routes(),
        *export.routes(),
        *transaction.routes(),
        *history.routes(),
        *search.routes(),
        *write.routes(),
        *read.routes(),
    ]


def create_app(
    store: Store,
    *,
    auth: SmartAuthConfig | None = None,
    faults: Faults | None = None,
    feed: Feed | None = None,
    per_file: int = 100_000,
    strict: Strictness | None = None,
) -> Starlette:
    """The simulated EHR over `store`: SMART auth when `auth` is given, the fault switches
    `faults`, the change feed's log from `feed`, at most `per_file` resources per export file,
    offering less as `strict` says (strict.py)."""
    faults = faults or Faults()
    exports = ExportManager(store, per_file=per_file)
    app = Starlette(
        routes=all_routes(),
        middleware=[
            Middleware(FaultMiddleware, faults=faults),
            Middleware(TokenGuard, auth=auth),
            Middleware(FormatMiddleware),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.ehr = EhrContext(
        store=store,
        faults=faults,
        auth=auth,
        exports=exports,
        feed=feed,
        strict=strict or Strictness(),
    )
    app.state.store = store
    app.state.faults = faults
    app.state.auth = auth
    app.state.exports = exports
    app.state.feed = feed
    return app
