"""The simulated EHR: a FHIR R4 server over the synthetic hospital (docs/simulated-ehr.md).

* `create_app(store, auth=..., faults=..., feed=...)` — the Starlette app (in-process tests:
  `starlette.testclient.TestClient(app)` or `httpx.ASGITransport(app)`).
* `load_store(data_dir)` — opens `DIR/ehr.db`, ingests `DIR/*.ndjson` once, adds
  `Group/inpatients`.
* `run_in_thread(data_dir_or_store, port=0, ...) -> (base_url, handle)` — real sockets in a
  background thread: `base_url` is the public FHIR base (a TCP front that resets connections
  during an outage), `handle.admin_url` is uvicorn itself (admin endpoints stay reachable in
  an outage), `handle.set_faults(error_rate=..., latency_ms=..., outage=...)`, `handle.auth`
  (register/revoke clients), `handle.stop()`.
* `Strictness.parse("no-export,no-history")` — `strict=` of both: offer less, as real
  servers do (strict.py).
"""

from standby.sim.server.app import create_app
from standby.sim.server.ehr_store import load_store
from standby.sim.server.faults import Faults
from standby.sim.server.runner import ServerHandle, run_in_thread
from standby.sim.server.smart_auth import SmartAuthConfig
from standby.sim.server.strict import Strictness

__all__ = [
    "Faults",
    "ServerHandle",
    "SmartAuthConfig",
    "Strictness",
    "create_app",
    "load_store",
    "run_in_thread",
]
