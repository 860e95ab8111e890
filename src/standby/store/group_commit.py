"""Group commit: many threads' small writes in one transaction, each caller returning only
once its own items are committed.

Why: every page view writes an audit line before the page is sent (docs/web.md#audit).
One transaction per view makes the database's single writer the limit of the whole
viewer (50 nurses' page views queue on the write lock, and across worker processes
SQLite's busy handler sleeps). Here the first caller to arrive becomes the *leader*: it
takes everything pending and writes it with one `flush(items)`; callers arriving while a
flush is in progress queue their items for the next one and wait. Nothing is
acknowledged before it is committed, so a crash loses no acknowledged item; a failed
flush raises in every caller whose items were in it.

No background thread: a leader is whichever caller found the writer idle.

`Alongside` is a row that rides in a batch beside the items it belongs with (the FHIR API's
paging snapshot beside its search's audit line): one commit for both, not two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Alongside:
    """A statement the flush runs in its transaction, before the batch's own items."""

    sql: str
    params: tuple[Any, ...]


class GroupCommit(Generic[T]):
    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        """`flush(items)` writes all of `items` in one transaction (all or nothing)."""
        self._flush = flush
        self._cv = threading.Condition()
        self._pending: list[T] = []
        self._next_batch = 0  # the number the pending items will be flushed under
        self._done = 0  # batches numbered below this are finished
        self._busy = False
        self._errors: dict[int, BaseException] = {}
        self.batches = 0  # flushes done (for tests and figures)
        self.items = 0

    def submit(self, items: Sequence[T]) -> None:
        """Write `items`; returns once they are committed, raises if their flush failed."""
        if not items:
            return
        with self._cv:
            self._pending.extend(items)
            mine = self._next_batch
            while self._busy and self._done <= mine:
                self._cv.wait()
            if self._done > mine:
                self._raise_if_failed(mine)
                return
            # the writer is idle and my items are still pending: I lead this batch
            self._busy = True
            batch, self._pending = self._pending, []
            number = self._next_batch
            self._next_batch += 1
        error: BaseException | None = None
        try:
            self._flush(batch)
        except BaseException as e:  # reported to every caller of the batch
            error = e
        with self._cv:
            self._busy = False
            self._done = number + 1
            self.batches += 1
            self.items += len(batch)
            if error is not None:
                self._errors[number] = error
                for old in [k for k in self._errors if k < number - 1000]:
                    del self._errors[old]
            self._cv.notify_all()
        if error is not None:
            raise error

    def _raise_if_failed(self, number: int) -> None:
        error = self._errors.get(number)
        if error is not None:
            raise error
