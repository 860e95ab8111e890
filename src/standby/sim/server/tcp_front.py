"""The public port of the simulated EHR: `TcpFront`, an asyncio TCP proxy in front of uvicorn.

During an outage it resets (SO_LINGER 0 → RST) every accepted connection and every open
one; outside an outage a third of the injected errors (`Faults.draw()` → "reset") are
connection resets instead of HTTP answers. uvicorn itself listens on the admin port, which
stays reachable during an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from standby.sim.server.faults import Faults


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpFront:
    """The public port: proxies bytes to uvicorn on `backend`, resets during an outage."""

    def __init__(self, faults: Faults, backend: tuple[str, int]) -> None:
        self.faults = faults
        self.backend = backend
        self._open: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        faults.on_change(self._on_change)

    def _on_change(self, faults: Faults) -> None:
        if faults.outage and self._loop is not None:
            self._loop.call_soon_threadsafe(self._reset_all)

    def _reset_all(self) -> None:
        for w in list(self._open):
            _reset(w)
        self._open.clear()

    async def start(self, sock: socket.socket) -> asyncio.Server:
        self._loop = asyncio.get_running_loop()
        return await asyncio.start_server(self._handle, sock=sock)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.outage or (self.faults.error_rate and self.faults.draw() == "reset"):
            _reset(writer)
            return
        try:
            b_reader, b_writer = await asyncio.open_connection(*self.backend)
        except OSError:
            _reset(writer)
            return
        self._open.add(writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(OSError, RuntimeError):
                    dst.close()

        try:
            await asyncio.gather(pipe(reader, b_writer), pipe(b_reader, writer))
        finally:
            self._open.discard(writer)
