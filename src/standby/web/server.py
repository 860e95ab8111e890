"""Serving the viewer with several worker processes (`standby serve --workers N`).

Each worker is a separate process (Python runs one thread of Python at a time, so one
process per core) with its own listening socket bound to the same address with
`SO_REUSEPORT`: the kernel spreads new connections evenly across the workers. (A single
shared socket, as uvicorn's own `--workers` uses, lets whichever process wakes first take
most connections: measured here, one worker at 70 % CPU and the other at 30 % under 50
keep-alive clients.)

The parent process only supervises: a worker that dies is started again (at most once per
`RESTART_PAUSE` seconds), and SIGTERM or SIGINT stops them all. Settings reach the
workers through the environment (`standby.cli.serve._export`).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

RESTART_PAUSE = 2.0
BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A listening socket others may bind too (SO_REUSEPORT where the system has it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def uvicorn_config(settings: Any, app: Any, **kw: Any) -> Any:
    """uvicorn's configuration of the viewer (one process, or each worker).

    Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from the
    proxies named in `trusted_proxies`: uvicorn's default believes any client on
    127.0.0.1, so a local user (or anything relaying through the host) could pick the
    address the lockout counts and the audit records."""
    import uvicorn

    from standby.web.connection_guard import guarded_protocol

    trusted = trusted_proxies(settings)
    protocol = guarded_protocol(
        header_timeout=settings.web_header_timeout_seconds,
        per_client=settings.web_max_connections_per_client,
        total=settings.web_max_connections,
        trusted=frozenset(trusted),
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        http=protocol,
        limit_concurrency=settings.web_max_connections,
        **kw,
    )


def trusted_proxies(settings: Any) -> list[str]:
    return [p.strip() for p in str(settings.trusted_proxies or "").split(",") if p.strip()]


def worker_main(host: str, port: int) -> None:
    """One worker: its own socket, uvicorn (uvloop and httptools when installed)."""
    import uvicorn

    from standby.settings import load_settings

    sock = bind(host, port)
    config = uvicorn_config(load_settings(), "standby.cli.serve:app_factory", factory=True)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(host: str, port: int, workers: int) -> None:
    """Start `workers` processes on host:port and supervise them until told to stop."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise RuntimeError("several workers need SO_REUSEPORT, which this system lacks")
    bind(host, port).close()  # a port in use fails here, with the system's message
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def start(i: int) -> BaseProcess:
        p = ctx.Process(target=worker_main, args=(host, port), name=f"standby-web-{i}")
        p.start()
        return p

    procs = [start(i) for i in range(workers)]
    started = [time.monotonic()] * workers
    try:
        while not stopping:
            for i, p in enumerate(procs):
                if not p.is_alive() and time.monotonic() - started[i] >= RESTART_PAUSE:
                    print(
                        f"standby serve: worker {i} exited (code {p.exitcode}); starting it again",
                        file=sys.stderr,
                    )
                    procs[i] = start(i)
                    started[i] = time.monotonic()
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + 10
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
        for s, handler in old.items():
            signal.signal(s, handler)
