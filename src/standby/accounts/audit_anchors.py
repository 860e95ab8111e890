"""Copies of the audit chain's head kept outside the database (docs/security.md#the-audit-log).

Whoever can write the database file could rewrite the whole chain consistently; a copy of
the head written elsewhere, now and then, is what such a rewrite cannot match. The anchor
file is append-only JSON lines beside the data (`STANDBY_AUDIT_ANCHOR_FILE`, 0600), one line
`{"at": ..., "id": ..., "hash": ...}` per anchor; the viewer writes one at most every
`STANDBY_AUDIT_ANCHOR_SECONDS` while it writes the audit, `standby audit anchor` writes one
on demand (from cron, or before a node is shut down), and the monitor's after-action report
carries the head at the time it was made.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from standby.accounts import audit_chain, schema
from standby.clock import instant, now
from standby.private_files import private_dir
from standby.store.base import Store


@dataclass(frozen=True, slots=True)
class Anchor:
    at: str
    id: int
    hash: str
    line: int  # line number in the anchor file (1-based)


def head(store: Store) -> tuple[int, str]:
    """(id, hash) of the chain's last line."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        return audit_chain.head(tx)


def head_text(store: Store) -> str:
    """The head as a person copies it: `line N, sha256 H`."""
    row_id, h = head(store)
    return f"line {row_id}, sha256 {h}"


def write(store: Store, path: Path) -> Anchor:
    """Append the current head to the anchor file (created 0600) and flush it to disk."""
    row_id, h = head(store)
    at = instant(now())
    line = json.dumps({"at": at, "id": row_id, "hash": h}, separators=(",", ":")) + "\n"
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return Anchor(at, row_id, h, 0)


def read(path: Path) -> list[Anchor]:
    """Every anchor of the file; ValueError naming the line that is not one."""
    out: list[Anchor] = []
    with path.open(encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                d = json.loads(text)
                out.append(Anchor(str(d["at"]), int(d["id"]), str(d["hash"]), n))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path}, line {n}: not an audit anchor ({e})") from None
    return out


class Periodic:
    """Writes an anchor after an audit write at most every `seconds` (and only when the head
    moved); what the viewer calls after each commit of audit lines."""

    def __init__(
        self, path: Path, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.seconds = seconds
        self._clock = clock
        self._last_at: float | None = None
        self._last_head: tuple[int, str] | None = None
        self._lock = threading.Lock()

    def after_write(self, store: Store, *, force: bool = False) -> None:
        with self._lock:
            t = self._clock()
            if not force and self._last_at is not None and t - self._last_at < self.seconds:
                return
            self._last_at = t
            current = head(store)
            if current == self._last_head:
                return
            written = write(store, self.path)
            self._last_head = (written.id, written.hash)
