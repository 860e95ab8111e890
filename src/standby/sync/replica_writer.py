"""Writing what the source sent into the replica: the gate first (`standby.fhir.gate`: bad
resources are quarantined with the reason and never stop the sync), then one
`upsert_many` per batch of what passed, with the batch's checkpoint in the same
transaction. What passed the gate is written as it is: never parsed again.

Writes from the sync's worker threads go through one lock: one writer per SQLite file.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from standby.fhir.gate import ReceivedResource, Refusal, admit
from standby.store.base import IngestReport, Store, WriteOutcome
from standby.store.ingest import set_aside
from standby.sync.bundles import Entry
from standby.sync.feed_copies import superseded


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

    def add_report(self, report: IngestReport) -> None:
        """Add what one NDJSON ingest did (`standby.store.ingest.ingest_lines`)."""
        self.written += report.written
        self.unchanged += report.unchanged
        self.quarantined += report.quarantined
        self.by_type.update(report.by_type)


class ReplicaWriter:
    """The sync's way into the replica: the gate, the quarantine, batched writes."""

    def __init__(self, store: Store, source: str, *, max_bytes: int) -> None:
        self.store = store
        self.source = f"sync:{source}"
        self.max_bytes = max_bytes
        self.lock = threading.Lock()

    def set_aside(
        self, raw: bytes, refusal: Refusal, *, file: str | None, line: int | None = None
    ) -> None:
        with self.lock:
            set_aside(self.store, raw, refusal, source=self.source, file=file, line=line)

    def admit(
        self, raw: bytes, *, file: str | None, parsed: Any = None, expected: str | None = None
    ) -> ReceivedResource | None:
        """`raw` through the gate (`parsed`: `raw` already parsed, e.g. with its Bundle);
        None when it was refused, and then quarantined with the reason."""
        got = (
            admit(raw, max_bytes=self.max_bytes, expected_type=expected)
            if parsed is None
            else admit(raw, max_bytes=self.max_bytes, expected_type=expected, parsed=parsed)
        )
        if isinstance(got, Refusal):
            if isinstance(parsed, dict) and (got.resource_type is None or got.id is None):
                got = _named(got, parsed)  # e.g. too large: refused before it was looked at
            self.set_aside(raw, got, file=file)
            return None
        return got

    def set_aside_unreadable(self, entry: Entry, *, file: str | None) -> None:
        """Quarantine a Bundle entry that could not be read even tolerantly."""
        self.set_aside(
            entry.raw or b"",
            Refusal(entry.error or "unreadable", entry.seen_type, entry.seen_id),
            file=file,
        )

    def write(
        self, resources: Sequence[ReceivedResource], *, checkpoint: tuple[str, str] | None = None
    ) -> WriteStats:
        """Write resources that passed the gate (and the checkpoint) in one transaction."""
        stats = WriteStats()
        if not resources and checkpoint is None:
            return stats
        with self.lock:
            # the HL7 v2 feed's copies of these things go in the same transaction
            copies = superseded(self.store, [r.json for r in resources])
            if copies:
                with self.store.transaction():
                    outcomes = self.store.upsert_many(resources, checkpoint=checkpoint)
                    copies.apply(self.store)
            else:
                outcomes = self.store.upsert_many(resources, checkpoint=checkpoint)
        for res, outcome in zip(resources, outcomes, strict=True):
            if outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED):
                stats.written += 1
                stats.by_type[res.resource_type] += 1
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


def _named(refusal: Refusal, parsed: dict[str, Any]) -> Refusal:
    """`refusal` with the type and id of the resource when it did not name them."""
    rtype, rid = parsed.get("resourceType"), parsed.get("id")
    return Refusal(
        refusal.reason,
        refusal.resource_type or (rtype[:64] if isinstance(rtype, str) else None),
        refusal.id or (rid[:64] if isinstance(rid, str) else None),
    )
