"""The simulated EHR's interface-engine mode: its change feed also sent as HL7 v2 over MLLP
(ADT, ORU^R01, RAS^O17) to a listener, unacked messages sent again, lab results sent on
during the EHR's own outage (docs/simulated-ehr.md, "Interface-engine mode").

`attach_engine(handle, host, port)` starts one for a running simulated EHR (`run_in_thread`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from standby.sim.engine.engine import InterfaceEngine

if TYPE_CHECKING:
    from standby.sim.server.runner import ServerHandle


def attach_engine(handle: ServerHandle, host: str, port: int, **kwargs: object) -> InterfaceEngine:
    """An interface engine sending what `handle`'s change feed writes to `host:port`,
    obeying its fault switches; stopped with the handle."""
    if handle.feed is None:
        raise ValueError("the simulated EHR has no change feed (change rate 0)")
    engine = InterfaceEngine(handle.store, host, port, faults=handle.faults, **kwargs)  # type: ignore[arg-type]
    handle.feed.on_written.append(engine.offer)
    handle._extra.append(engine)
    engine.start()
    return engine


__all__ = ["InterfaceEngine", "attach_engine"]
