"""Slow clients cannot take the viewer down (docs/web.md#slow-clients).

uvicorn closes idle keep-alive connections, but waits forever for a request head that
never ends, and has no limit per client: a laptop holding a thousand half-sent requests
used up the server's open files (a service's usual limit is 1,024) and nobody else could
connect. The protocol here is uvicorn's own (httptools) with three additions:

* a connection that has not sent a whole request head within `web_header_timeout_seconds`
  (from its opening, or from the first byte of its next request) is closed;
* one client address holds at most `web_max_connections_per_client` connections (the
  trusted proxies excepted: every client comes through them); more are closed at once;
* a worker holds at most `web_max_connections`; more are closed at once (and uvicorn's
  `limit_concurrency` answers 503 past it).

Bodies are the middleware's business: a `Content-Length` past the limit gets 413 before
anything is read, and a body not received within `web_body_timeout_seconds` gets 408.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def guarded_protocol(
    *,
    header_timeout: float,
    per_client: int,
    total: int,
    trusted: frozenset[str] = frozenset(),
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with the limits above (one class per server: the counts
    of open connections per client live on it)."""
    open_by_client: Counter[str] = Counter()

    class GuardedProtocol(HttpToolsProtocol):
        _peer: str | None = None
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            peer = self.client[0] if self.client else "unknown"
            if len(self.connections) > total or (
                peer not in trusted and open_by_client[peer] >= per_client
            ):
                transport.abort()  # frees the file at once; nothing was read
                return
            self._peer = peer
            open_by_client[peer] += 1
            self._start_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            if self._peer is not None:
                open_by_client[self._peer] -= 1
                if open_by_client[self._peer] <= 0:
                    del open_by_client[self._peer]
                self._peer = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_head_timer()

        def on_headers_complete(self) -> None:
            self._stop_head_timer()
            super().on_headers_complete()

        def _start_head_timer(self) -> None:
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(header_timeout, self._head_too_slow)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.abort()

    return GuardedProtocol
