"""GroupCommit: concurrent submitters share transactions, and nobody returns before their
own items are written (or learns that their flush failed)."""

from __future__ import annotations

import threading
import time

import pytest

from standby.store.group_commit import GroupCommit


def test_every_item_is_written_once_and_concurrent_submitters_share_flushes() -> None:
    written: list[int] = []
    flushes: list[int] = []

    def flush(items: list[int]) -> None:
        time.sleep(0.005)  # a commit takes a moment: others queue meanwhile
        flushes.append(len(items))
        written.extend(items)

    gc: GroupCommit[int] = GroupCommit(flush)
    returned: list[int] = []

    def worker(i: int) -> None:
        gc.submit([i])
        assert i in written  # committed before submit returned
        returned.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(written) == list(range(40))
    assert sorted(returned) == list(range(40))
    assert len(flushes) < 40  # at least some batches held more than one caller
    assert gc.items == 40 and gc.batches == len(flushes)


def test_a_failed_flush_raises_in_its_callers_and_the_next_flush_works() -> None:
    fail = threading.Event()
    fail.set()
    written: list[str] = []

    def flush(items: list[str]) -> None:
        if fail.is_set():
            fail.clear()
            raise OSError("disk full")
        written.extend(items)

    gc: GroupCommit[str] = GroupCommit(flush)
    with pytest.raises(OSError, match="disk full"):
        gc.submit(["a"])
    gc.submit(["b"])
    assert written == ["b"]


def test_empty_submit_writes_nothing() -> None:
    calls: list[list[int]] = []
    gc: GroupCommit[int] = GroupCommit(calls.append)
    gc.submit([])
    assert calls == []
