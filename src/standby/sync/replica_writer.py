"""Writing what the source sent into the replica: checks first (bad resources are
quarantined with the reason and never stop the sync), then one `upsert_many` per batch with
the batch's checkpoint in the same transaction (issue 3, "Correctness").

Writes from the sync's worker threads go through one lock: one writer per SQLite file.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from standby.store.base import Store, WriteOutcome
from standby.sync.bundles import check_resource

log = logging.getLogger("standby.sync.write")


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    def add(self, other: WriteStats) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.deleted += other.deleted
        self.by_type.update(other.by_type)


class ReplicaWriter:
    def __init__(self, store: Store, source: str, *, max_bytes: int) -> None:
        self.store = store
        self.source = f"sync:{source}"
        self.max_bytes = max_bytes
        self.lock = threading.Lock()

    def set_aside(
        self,
        raw: bytes,
        reason: str,
        *,
        file: str | None,
        line: int | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        with self.lock:
            self.store.quarantine(
                source=self.source,
                reason=reason,
                raw=raw[:65536],
                file=file,
                line=line,
                resource_type=resource_type,
                resource_id=resource_id,
            )
        log.warning(
            "quarantined",
            extra={"file": file, "line": line, "resource_type": resource_type, "reason": reason},
        )

    def check(
        self, raw: bytes, *, file: str | None, line: int | None = None, expected: str | None = None
    ) -> bool:
        """True if `raw` may be written; else it is quarantined with the reason."""
        if len(raw) > self.max_bytes:
            self.set_aside(
                raw,
                f"resource of {len(raw)} bytes is larger than the limit of {self.max_bytes}",
                file=file,
                line=line,
            )
            return False
        try:
            res = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            self.set_aside(raw, f"malformed JSON: {e}", file=file, line=line)
            return False
        reason = check_resource(res, len(raw), max_bytes=self.max_bytes, expected_type=expected)
        if reason is not None:
            rtype = res.get("resourceType") if isinstance(res, dict) else None
            rid = res.get("id") if isinstance(res, dict) else None
            self.set_aside(
                raw,
                reason,
                file=file,
                line=line,
                resource_type=rtype if isinstance(rtype, str) else None,
                resource_id=rid if isinstance(rid, str) else None,
            )
            return False
        return True

    def write(
        self,
        bodies: Sequence[bytes],
        *,
        checkpoint: tuple[str, str] | None = None,
        file: str | None = None,
    ) -> WriteStats:
        """Write checked bodies (and the checkpoint) in one transaction."""
        stats = WriteStats()
        if not bodies and checkpoint is None:
            return stats
        with self.lock:
            try:
                outcomes = self.store.upsert_many(bodies, checkpoint=checkpoint)
            except ValueError:
                # one body the store refuses: write the others one by one, set that one aside
                outcomes = []
                for b in bodies:
                    try:
                        outcomes.append(self.store.upsert(b))
                    except ValueError as e:
                        self.store.quarantine(
                            source=self.source, reason=str(e), raw=b[:65536], file=file
                        )
                        outcomes.append(WriteOutcome.STALE)
                        stats.quarantined += 1
                if checkpoint is not None:
                    self.store.set_checkpoint(*checkpoint)
        for body, outcome in zip(bodies, outcomes, strict=False):
            if outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED):
                stats.written += 1
                stats.by_type[_type_of(body)] += 1
            elif outcome is WriteOutcome.UNCHANGED:
                stats.unchanged += 1
        return stats

    def tombstone(
        self,
        rtype: str,
        rid: str,
        *,
        version_id: str | None = None,
        last_updated: str | None = None,
    ) -> None:
        with self.lock:
            self.store.tombstone(rtype, rid, version_id=version_id, last_updated=last_updated)


def _type_of(body: bytes) -> str:
    i = body.find(b'"resourceType"')
    if i < 0:
        return "?"
    j = body.find(b'"', body.find(b":", i) + 1)
    k = body.find(b'"', j + 1)
    return body[j + 1 : k].decode(errors="replace")
