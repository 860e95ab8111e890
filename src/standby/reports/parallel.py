"""Units' packets in parallel worker processes.

Rendering a PDF is Python work that holds the interpreter's lock, so threads would take
turns: units go to worker processes instead, each with its own connection to the replica
(a SQLite file or a PostgreSQL URL; the in-memory store of the tests cannot be shared,
and its units are generated in the calling process). Workers are started with "spawn",
never "fork": `standby serve` runs the monitor and the web in threads, and a forked child
would inherit their locks mid-use.

Work is handed out in the order it is submitted, so what is submitted first is printed
first: on a declaration, every unit's census and MARs, then the rest
(`standby.reports.regeneration.generate_all`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standby.store.base import Store
from standby.store.encryption import DatabaseKey


@dataclass(frozen=True)
class StoreSpec:
    """How a worker opens the same replica: a SQLite file (with its key) or a URL."""

    db: str | None = None
    database_url: str | None = None
    key: DatabaseKey | None = None


def spec_of(store: Store) -> StoreSpec | None:
    """The replica as a worker can open it; None for a store only this process holds."""
    url = getattr(store, "url", None)
    if getattr(store, "engine", "") == "postgres" and isinstance(url, str):
        return StoreSpec(database_url=url)
    path = getattr(store, "path", None)
    if getattr(store, "engine", "") == "sqlite" and isinstance(path, Path):
        return StoreSpec(db=str(path), key=getattr(store, "key", None))
    return None


_stores: dict[StoreSpec, Store] = {}  # one connection per worker process, kept between tasks


def worker_store(spec: StoreSpec) -> Store:
    from standby.store import open_store

    if spec not in _stores:
        _stores[spec] = open_store(db=spec.db, database_url=spec.database_url, key=spec.key)
    return _stores[spec]


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class InProcess(Executor):
    """Runs each task when submitted (one worker, or a store workers cannot open)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        f: Future[Any] = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:
            f.set_exception(e)
        return f


def _exit_with(parent: int) -> None:
    """A worker's first act: leave when its parent is gone. A spawned worker holds both ends
    of the pool's queue, so a parent killed (SIGKILL, OOM) never makes it read an end of
    file: without this its workers were left idle for good (found after a demo's packets
    process was killed)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def executor(workers: int) -> Executor:
    if workers <= 1:
        return InProcess()
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )
