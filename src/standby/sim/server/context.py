"""What the simulated EHR's route handlers work on: `EhrContext`, held in `app.state.ehr`."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from standby.sim.server.bulk_export import ExportManager
from standby.sim.server.faults import Faults
from standby.sim.server.feed import Feed
from standby.sim.server.smart_auth import SmartAuthConfig
from standby.sim.server.strict import Strictness
from standby.store import Store


@dataclass(frozen=True)
class EhrContext:
    """The store, the fault switches, SMART auth (None: off), the export jobs, the
    change feed (None: not running) and the strict modes (strict.py) of one app."""

    store: Store
    faults: Faults
    auth: SmartAuthConfig | None
    exports: ExportManager
    feed: Feed | None
    strict: Strictness = field(default_factory=Strictness)


def ehr_context(request: Request) -> EhrContext:
    """The context of the app that received `request`."""
    context: EhrContext = request.app.state.ehr
    return context
