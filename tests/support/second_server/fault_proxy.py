"""A fault-injecting HTTP proxy in front of any FHIR server, so the same fault tests run
against the simulated EHR and the second server.

It reuses the simulated EHR's fault machinery (`standby.sim.server.faults`): a `TcpFront`
on the public port (connection resets, every connection during an outage) in front of
uvicorn, which serves a forwarding ASGI app wrapped in `FaultMiddleware` (503 / 429 with
`Retry-After: 1` for a fraction `error_rate` of the requests). The forwarder keeps the
client's `Host` header, so the server's own `next` links point back at the proxy and pages
are faulted too. `rewrite` turns response bodies into other bytes (a page the server itself
would not send: a decimal beyond double range, say). `bare_ids_match_nothing` makes the
server behave as one met in the field: a search whose `patient` or `subject` holds a bare
id (`patient=123`, valid FHIR) matches nothing, answered as an empty searchset.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from standby.sim.server.faults import FaultMiddleware, Faults
from standby.sim.server.tcp_front import TcpFront

Rewrite = Callable[[str, bytes], bytes]  # (request path and query, body) -> body
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class Forwarder:
    """ASGI: every request to `target` (scheme://host:port), the body of the answer passed
    through `rewrite` when one is set."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.rewrite: Rewrite | None = None
        self.bare_ids_match_nothing = False
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60)
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            path += "?" + scope["query_string"].decode("latin-1")
        if self.bare_ids_match_nothing and _bare_reference(scope):
            await _empty_searchset(send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            answer = await self._client.request(
                scope["method"], self.target + path, headers=headers, content=body
            )
        except httpx.TransportError:
            await _plain(send, 502, b"the server behind the proxy did not answer")
            return
        content = answer.content
        if self.rewrite is not None:
            content = self.rewrite(path, content)
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.items()
            if k.lower() not in HOP_BY_HOP
        ]
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _bare_reference(scope: Scope) -> bool:
    if scope["method"] != "GET":
        return False
    query = parse_qsl(scope["query_string"].decode("latin-1"))
    return any(
        k in ("patient", "subject") and any("/" not in v for v in value.split(","))
        for k, value in query
    )


async def _empty_searchset(send: Send) -> None:
    body = json.dumps({"resourceType": "Bundle", "type": "searchset", "total": 0}).encode()
    headers = [
        (b"content-type", b"application/fhir+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


def _bind() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    s.setblocking(False)
    return s


@dataclass
class FaultProxy:
    """`base_url` is `target_base` (a server's FHIR base URL) seen through the proxy."""

    target_base: str
    faults: Faults = field(default_factory=lambda: Faults(seed=7))
    base_url: str = ""
    _server: Any = None
    _thread: threading.Thread | None = None
    _timers: list[threading.Timer] = field(default_factory=list)

    def start(self) -> FaultProxy:
        parts = urlsplit(self.target_base)
        self.forwarder = Forwarder(f"{parts.scheme}://{parts.netloc}")
        inner, front = _bind(), _bind()
        config = uvicorn.Config(
            FaultMiddleware(self.forwarder, self.faults),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        fh, fp = front.getsockname()[:2]
        self.base_url = f"http://{fh}:{fp}{parts.path}"
        started = threading.Event()

        async def main() -> None:
            tcp = TcpFront(self.faults, inner.getsockname()[:2])
            listener = await tcp.start(front)
            task = asyncio.create_task(self._server.serve(sockets=[inner]))
            while not self._server.started and not task.done():
                await asyncio.sleep(0.01)
            started.set()
            try:
                await task
            finally:
                listener.close()
                tcp._reset_all()
                await self.forwarder.aclose()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("the fault proxy did not start")
        return self

    def set_error_rate(self, rate: float) -> None:
        """A fraction `rate` of requests answered 503 or 429 (Retry-After: 1) or reset."""
        self.faults.set(error_rate=rate)

    def cut(self, seconds: float) -> None:
        """Every connection reset, from now for `seconds`."""
        self.faults.set(outage=True)
        timer = threading.Timer(seconds, lambda: self.faults.set(outage=False))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def set_rewrite(self, rewrite: Rewrite | None) -> None:
        self.forwarder.rewrite = rewrite

    def stop(self) -> None:
        for t in self._timers:
            t.cancel()
        self.faults.set(outage=False, error_rate=0.0)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
