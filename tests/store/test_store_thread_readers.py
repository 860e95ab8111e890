"""Per-thread read connections: threads come and go (a server's thread pool retires idle
workers), the open connections do not pile up, and a living thread keeps its own."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from standby.store.base import Store
from support.store_engines import ENGINES, make_store

# engines whose readers hold files or sockets of this process (the memory engine has none)
CONNECTED = [e for e in ENGINES if e.values[0] != "memory"]


@pytest.fixture(params=CONNECTED)
def connected(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    try:
        yield s
    finally:
        s.close()


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _in_a_thread(work: Callable[[], object]) -> list[BaseException]:
    """Run `work` in a new thread until it ends; what it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return errors


def test_threads_that_ended_leave_no_connection_open(connected: Store) -> None:
    connected.upsert(b'{"resourceType": "Patient", "id": "p1"}')
    assert _in_a_thread(lambda: connected.read("Patient", "p1")) == []
    before = _open_files()
    for _ in range(60):  # each opened one (SQLite: the file and its WAL; PostgreSQL: a socket)
        assert _in_a_thread(lambda: connected.read("Patient", "p1")) == []
    assert _open_files() - before <= 4


def test_a_living_thread_keeps_its_connection_and_snapshot(connected: Store) -> None:
    connected.upsert(b'{"resourceType": "Patient", "id": "p1"}')
    in_snapshot = threading.Event()
    others_done = threading.Event()
    seen: list[object] = []

    def long_lived() -> None:
        with connected.read_transaction():
            seen.append(connected.read("Patient", "p2"))
            in_snapshot.set()
            others_done.wait()
            seen.append(connected.read("Patient", "p2"))  # the same snapshot: still absent
        seen.append(connected.read("Patient", "p2") is not None)  # a new one: there

    t = threading.Thread(target=long_lived)
    t.start()
    in_snapshot.wait()
    connected.upsert(b'{"resourceType": "Patient", "id": "p2"}')
    for _ in range(5):  # threads that start (and close the connections of ended ones)
        assert _in_a_thread(lambda: connected.read("Patient", "p1")) == []
    others_done.set()
    t.join()
    assert seen == [None, None, True]


def test_no_read_after_close(connected: Store) -> None:
    connected.close()
    (error,) = _in_a_thread(lambda: connected.read("Patient", "p1"))
    assert isinstance(error, RuntimeError) and str(error) == "store is closed"
