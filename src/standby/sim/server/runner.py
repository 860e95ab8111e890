"""Running the simulated EHR on real sockets.

Two listeners in one asyncio loop: uvicorn on the admin port (all routes, never faulted at
TCP level) and `TcpFront` on the public port, which proxies to uvicorn and resets
connections during an outage (tcp_front.py). The store comes from `load_store` (ehr_store.py).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

import uvicorn

from standby.sim.server.app import create_app
from standby.sim.server.ehr_store import load_store
from standby.sim.server.faults import Faults
from standby.sim.server.feed import Feed
from standby.sim.server.smart_auth import SmartAuthConfig
from standby.sim.server.strict import Strictness
from standby.sim.server.tcp_front import TcpFront
from standby.store import Store


def _bind(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(128)
    s.setblocking(False)
    return s


@dataclass
class ServerHandle:
    base_url: str
    admin_url: str
    faults: Faults
    auth: SmartAuthConfig | None
    store: Store
    feed: Feed | None
    app: Any
    _server: uvicorn.Server
    _thread: threading.Thread | None = None
    _close_store: bool = False
    _extra: list[Any] = field(default_factory=list)

    def set_faults(
        self,
        *,
        error_rate: float | None = None,
        latency_ms: int | None = None,
        outage: bool | None = None,
    ) -> None:
        self.faults.set(error_rate=error_rate, latency_ms=latency_ms, outage=outage)

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        for part in self._extra:  # e.g. the interface engine (standby.sim.engine)
            part.stop()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.app.state.exports.close()
        if self._close_store:
            self.store.close()


async def serve(handle: ServerHandle, admin_sock: socket.socket, front_sock: socket.socket) -> None:
    front = TcpFront(handle.faults, admin_sock.getsockname()[:2])
    fserver = await front.start(front_sock)
    try:
        await handle._server.serve(sockets=[admin_sock])
    finally:
        fserver.close()
        front._reset_all()


def prepare(
    data: Path | Store,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    admin_port: int = 0,
    auth: SmartAuthConfig | None = None,
    faults: Faults | None = None,
    change_rate: float = 0.0,
    seed: int = 1,
    zone: tzinfo = UTC,
    per_file: int = 100_000,
    strict: Strictness | None = None,
) -> tuple[ServerHandle, socket.socket, socket.socket]:
    store = data if isinstance(data, Store) else load_store(Path(data))
    faults = faults or Faults(seed=seed)
    feed = Feed(store, rate=change_rate, seed=seed, zone=zone) if change_rate > 0 else None
    app = create_app(store, auth=auth, faults=faults, feed=feed, per_file=per_file, strict=strict)
    admin_sock = _bind(host, admin_port)
    front_sock = _bind(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    ah, ap = admin_sock.getsockname()[:2]
    fh, fp = front_sock.getsockname()[:2]
    handle = ServerHandle(
        base_url=f"http://{fh}:{fp}",
        admin_url=f"http://{ah}:{ap}",
        faults=faults,
        auth=auth,
        store=store,
        feed=feed,
        app=app,
        _server=server,
        _close_store=not isinstance(data, Store),
    )
    return handle, admin_sock, front_sock


def run_in_thread(data: Path | Store, *, port: int = 0, **kwargs: Any) -> tuple[str, ServerHandle]:
    """Start the server in a daemon thread on free ports; returns (base_url, handle)."""
    handle, admin_sock, front_sock = prepare(data, port=port, **kwargs)
    started = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(serve(handle, admin_sock, front_sock))
            while not handle._server.started and not task.done():
                await asyncio.sleep(0.01)
            started.set()
            await task

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True, name="sim-ehr")
    handle._thread = t
    t.start()
    started.wait(timeout=15)
    if handle.feed is not None:
        handle.feed.start()
    return handle.base_url, handle
