"""Fault injection for the simulated EHR: error rate, added latency, full outage.

* `Faults` holds the switches (thread-safe; changed at run time by `POST /_admin/faults`, by
  SIGUSR1/SIGUSR2 in `standby sim serve`, or by `handle.set_faults(...)` on the thread runner).
* `FaultMiddleware` (ASGI) adds latency and answers a fraction `error_rate` of FHIR requests
  with 503 or 429 (both with Retry-After and an OperationOutcome). Admin paths are exempt.

The connection resets (drawn ones, and every connection during an outage) happen on the
public port, in `TcpFront` (tcp_front.py).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from standby.fhir.outcomes import outcome

ADMIN_PREFIX = "/_admin"


@dataclass
class Faults:
    """The current fault switches."""

    error_rate: float = 0.0
    latency_ms: int = 0
    outage: bool = False
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _listeners: list[Callable[[Faults], None]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    def set(
        self,
        *,
        error_rate: float | None = None,
        latency_ms: int | None = None,
        outage: bool | None = None,
    ) -> None:
        with self._lock:
            if error_rate is not None:
                if not 0.0 <= error_rate <= 1.0:
                    raise ValueError("error_rate must be between 0 and 1")
                self.error_rate = error_rate
            if latency_ms is not None:
                if latency_ms < 0:
                    raise ValueError("latency_ms must be >= 0")
                self.latency_ms = latency_ms
            if outage is not None:
                self.outage = outage
            listeners = list(self._listeners)
        for cb in listeners:
            cb(self)

    def on_change(self, listener: Callable[[Faults], None]) -> None:
        """Call `listener(self)` after every `set` (from the thread that called `set`)."""
        with self._lock:
            self._listeners.append(listener)

    def as_json(self) -> dict[str, Any]:
        return {"error_rate": self.error_rate, "latency_ms": self.latency_ms, "outage": self.outage}

    def draw(self) -> str | None:
        """None (no fault) or one of "503", "429", "reset" for this request."""
        with self._lock:
            if self.error_rate <= 0 or self._rng.random() >= self.error_rate:
                return None
            return self._rng.choice(("503", "429", "reset"))


class FaultMiddleware:
    """Latency and injected HTTP errors for every non-admin HTTP request (in-process too:
    a drawn "reset" becomes a 503 here, since ASGI cannot reset a connection)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        f = self.faults
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        if f.outage:
            await _error(send, 503, "transient", "the EHR is down (simulated outage)", 30)
            return
        kind = f.draw()
        if kind == "429":
            await _error(send, 429, "throttled", "too many requests (simulated)", 1)
            return
        if kind is not None:
            await _error(send, 503, "transient", "service unavailable (simulated)", 1)
            return
        await self.app(scope, receive, send)


async def _error(send: Send, status: int, code: str, text: str, retry_after: int) -> None:
    body = orjson.dumps(outcome(code, text))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
