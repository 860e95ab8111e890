"""The viewer as `standby serve` runs it (the same app, uvicorn settings and one
SO_REUSEPORT socket per worker process), with its clock pinned to the instant the bench's
hospital was generated at: pages computed at the wall clock over a hospital stamped days
earlier show fewer doses due and fewer recent results, and were measured 18–20% faster.

Run by `standby bench web` (`http_load`) as
`python -c "from standby.bench.pinned_serve import main; main()" <instant>`, with the
settings in the environment as for `standby serve`."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from datetime import datetime
from typing import Any


def app_factory() -> object:
    """The app of one worker: `standby serve`'s, with the pinned clock."""
    from standby.cli.replica import open_replica
    from standby.settings import load_settings
    from standby.web.app import create_app

    at = datetime.fromisoformat(os.environ["STANDBY_BENCH_CLOCK"])
    settings = load_settings()
    return create_app(settings, open_replica(settings), clock=lambda: at)


def _worker(host: str, port: int) -> None:
    import uvicorn

    from standby.settings import load_settings
    from standby.web.server import bind, uvicorn_config

    sock = bind(host, port)
    config = uvicorn_config(load_settings(), "standby.bench.pinned_serve:app_factory", factory=True)
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    os.environ["STANDBY_BENCH_CLOCK"] = sys.argv[1]
    host = os.environ.get("STANDBY_HOST", "127.0.0.1")
    port = int(os.environ["STANDBY_PORT"])
    workers = int(os.environ.get("STANDBY_WEB_WORKERS", "1"))
    ctx = multiprocessing.get_context("spawn")
    procs: list[Any] = [
        ctx.Process(target=_worker, args=(host, port), name=f"bench-web-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()

    def stop(_signum: int, _frame: object) -> None:
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    for p in procs:
        p.join()
