"""The HL7 v2 feed inside one process (`standby demo`): an MLLP listener over the replica in
a thread of its own, its critical results noticed to the units during downtime (the
monitor's channels), and, for a simulated EHR, its interface-engine mode sending to it
(docs/hl7.md, docs/simulated-ehr.md)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from standby import clock
from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.hl7.listener import Listener
from standby.monitor.config import MonitorConfig
from standby.monitor.critical_results import notify_critical_results
from standby.settings import Settings, zone
from standby.sim.generate.codes import MRN_SYSTEM
from standby.store import Store


@dataclass
class FeedHandle:
    host: str
    port: int
    writer: FeedWriter
    listener: Listener | None = None
    engine: Any = None  # standby.sim.engine.InterfaceEngine, when one sends to it
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)


def feed_writer(settings: Settings, store: Store, mrn_system: str = MRN_SYSTEM) -> FeedWriter:
    """A FeedWriter over `store` whose committed critical results are noticed to the units
    while the EHR is in downtime (`standby.monitor.critical_results`)."""
    cfg = MonitorConfig.from_settings(settings)

    def after_commit(sender: str, resources: list[dict[str, Any]]) -> None:
        notify_critical_results(store, cfg, resources, sender, clock.now())

    return FeedWriter(
        store, Context(tz=zone(settings), mrn_system=mrn_system), on_committed=after_commit
    )


def start_listener(
    settings: Settings, store: Store, *, host: str = "127.0.0.1", port: int = 0
) -> FeedHandle:
    """An MLLP listener over `store` in a daemon thread; returns once it listens."""
    handle = FeedHandle(host, port, feed_writer(settings, store))

    async def main() -> None:
        handle._loop = asyncio.get_running_loop()
        handle._stop = asyncio.Event()
        handle.listener = Listener(handle.writer)
        server = await handle.listener.start(host, port)
        handle.port = server.sockets[0].getsockname()[1]
        handle._ready.set()
        await handle._stop.wait()
        server.close()
        await handle.listener.stop()

    handle._thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True, name="hl7")
    handle._thread.start()
    if not handle._ready.wait(15):
        raise RuntimeError(f"the HL7 v2 listener did not start on {host}:{port}")
    return handle


def start_feed(
    settings: Settings, store: Store, ehr: Any, *, host: str = "127.0.0.1", port: int = 0
) -> FeedHandle:
    """The listener, and the simulated EHR `ehr` (a `run_in_thread` handle with a change
    feed) sending its changes to it in interface-engine mode."""
    from standby.sim.engine import attach_engine

    handle = start_listener(settings, store, host=host, port=port)
    handle.engine = attach_engine(ehr, host, handle.port)
    return handle
