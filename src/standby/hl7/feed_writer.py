"""Committing what the feed sends: messages in, FHIR resources and the answer to each
message out, in one durable transaction per batch (docs/hl7.md).

A batch is the messages that arrived while the previous batch was being committed (group
commit: one fsync for many messages). For each message, in arrival order:

1. read and map it (`prepare`, pure: in worker processes when the listener has them);
   what is not HL7 v2 is set aside (AR), and so is what cannot be mapped (AE/AR);
2. a control id already answered for this sender is answered again, nothing written;
4. ids named by real-world key are swapped for the ids the replica already holds for the
   same identifier (a Patient from FHIR sync keeps its id);
5. a message about a patient the replica does not know (anything but ADT) is set aside (AE).

Then the resources, the answers (`hl7_received`) and the set-aside messages (the store's
quarantine) are committed together with `durable_transaction`: the caller ACKs only after
this returns, so an ACKed message survives a crash, and one that was not is sent again and
found in `hl7_received` if its batch did commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from standby import clock
from standby.hl7.datatypes import Context
from standby.hl7.mapped import JSON, Mapped, MappingError, unknown_key
from standby.hl7.precedence import moved_by_merge
from standby.hl7.prepare import Header, Prepared, control_id_of, decode, prepare_all
from standby.store import Migration, Store

log = logging.getLogger("standby.hl7")

NAMESPACE = "hl7"
CACHE_LIMIT = 200_000  # identifiers remembered between batches
MIGRATIONS = [
    Migration(
        1,
        "messages answered, by sender and control id",
        "CREATE TABLE hl7_received (sender TEXT NOT NULL, control_id TEXT NOT NULL,"
        " ack_code TEXT NOT NULL, message_type TEXT NOT NULL, reason TEXT,"
        " received_at TEXT NOT NULL, PRIMARY KEY (sender, control_id))",
    ),
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one message: MSA-1 (AA, AE, AR), the HL7 error code and reason of an
    error, and whether it was a duplicate of one already answered."""

    ack_code: str
    control_id: str
    header: Header | None
    reason: str | None = None
    error_code: str | None = None
    duplicate: bool = False


@dataclass(slots=True)
class _Batch:
    """What one commit writes."""

    resources: list[bytes] = field(default_factory=list)
    received: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[tuple[str, str], str] = field(default_factory=dict)
    found: dict[tuple[str, str, str], str] = field(default_factory=dict)  # identifier -> id
    patients: set[str] = field(default_factory=set)
    held: set[tuple[str, str]] = field(default_factory=set)
    applied: list[tuple[str, list[JSON]]] = field(default_factory=list)  # (sender, resources)
    own: set[tuple[str, str, str]] = field(default_factory=set)  # found under the feed's id


class FeedWriter:
    """Commits batches of raw messages; thread-safe (one batch at a time)."""

    def __init__(
        self,
        store: Store,
        ctx: Context,
        *,
        source: str = "hl7",
        on_committed: Callable[[str, list[JSON]], None] | None = None,
    ) -> None:
        """`on_committed(sender, resources)` is called after each commit for every message
        applied in it (e.g. the monitor's notice of a critical result during downtime); what
        it raises is logged, never undoes the commit nor holds up the ACK."""
        self.on_committed = on_committed
        self.store = store
        self.ctx = ctx
        self.source = source  # the quarantine's `source` column prefix
        store.ensure_schema(NAMESPACE, MIGRATIONS)
        self._lock = threading.Lock()
        # identifier -> id, and patients known to be held: only ever added after a commit
        self._ids: dict[tuple[str, str, str], str] = {}
        self._patients: set[str] = set()

    # ---- reading the replica ----------------------------------------------------------
    def _lookup(self, rtype: str, system: str, value: str, batch: _Batch) -> str | None:
        key = (rtype, system, value)
        got = batch.found.get(key) or self._ids.get(key)
        if got:
            return got
        page = self.store.search(rtype, [("identifier", f"{system}|{value}")], count=1)
        if page.resources:
            found = page.resources[0].id
            batch.found[key] = found
            return found
        return None

    def _patient_held(self, pid: str, batch: _Batch) -> bool:
        if pid in self._patients or pid in batch.patients:
            return True
        got = self.store.read("Patient", pid)
        return got is not None and not got.deleted

    def _is_held(self, rtype: str, rid: str, batch: _Batch) -> bool:
        if (rtype, rid) in batch.held:
            return True
        return self.store.read(rtype, rid) is not None

    # ---- one message ------------------------------------------------------------------
    def _resolve(self, mapped: Mapped, batch: _Batch) -> list[JSON]:
        """Swap deterministic ids for held ones; return the resources to write."""
        swap: dict[str, str] = {}
        for lk in mapped.lookups:
            found = self._lookup(lk.resource_type, lk.system, lk.value, batch)
            if found and found != lk.id:
                swap[f"{lk.resource_type}/{lk.id}"] = f"{lk.resource_type}/{found}"
        resources = mapped.resources
        if swap:
            # deterministic ids are hashes: their text occurs only as an id or in a reference
            text = orjson.dumps(resources).decode()
            for old, new in swap.items():
                text = text.replace(f'"{old}"', f'"{new}"')
                text = text.replace(f'"{old.split("/", 1)[1]}"', f'"{new.split("/", 1)[1]}"')
            resources = orjson.loads(text)
            if mapped.patient_id and f"Patient/{mapped.patient_id}" in swap:
                mapped.patient_id = swap[f"Patient/{mapped.patient_id}"].split("/", 1)[1]
        for lk in mapped.lookups:  # what this batch writes is found by its identifier
            key = (lk.resource_type, lk.system, lk.value)
            target = swap.get(f"{lk.resource_type}/{lk.id}", f"{lk.resource_type}/{lk.id}")
            if any(
                r["resourceType"] == lk.resource_type and f"{r['resourceType']}/{r['id']}" == target
                for r in resources
            ):
                batch.found[key] = target.split("/", 1)[1]
                if target == f"{lk.resource_type}/{lk.id}":
                    batch.own.add(key)
        return resources

    def _one(self, item: Prepared, batch: _Batch, received_at: str) -> Outcome:
        head = item.header
        if head is None:
            assert item.error is not None
            batch.set_aside.append(
                {"reason": item.error[2], "raw": item.raw, "file": item.peer, "resource_type": None}
            )
            code, err, reason = item.error
            return Outcome(code, control_id_of(decode(item.raw)), None, reason, err)
        key = (head.sender, head.control_id)
        before = batch.answered.get(key) or self._answered(key)
        if before is not None:
            return Outcome(before, head.control_id, head, duplicate=True)
        try:
            if item.error is not None:
                raise MappingError(*item.error)
            assert item.mapped is not None
            mapped = item.mapped
            resources = self._resolve(mapped, batch)
            if (
                not mapped.registers_patient
                and mapped.patient_id
                and not self._patient_held(mapped.patient_id, batch)
            ):
                raise unknown_key(
                    f"{head.kind}: no patient with MRN {mapped.patient_mrn} in the replica"
                )
        except MappingError as e:
            batch.set_aside.append(
                {"reason": e.reason, "raw": item.raw, "file": item.peer, "resource_type": head.kind}
            )
            batch.answered[key] = e.ack_code
            batch.received.append(
                (head.sender, head.control_id, e.ack_code, head.message_type, e.reason, received_at)
            )
            return Outcome(e.ack_code, head.control_id, head, e.reason, e.error_code)
        for res in mapped.create_only:
            if not self._is_held(res["resourceType"], res["id"], batch):
                batch.resources.append(orjson.dumps(res))
                batch.held.add((res["resourceType"], res["id"]))
        for res in resources:
            batch.resources.append(orjson.dumps(res))
            batch.held.add((res["resourceType"], res["id"]))
            if res["resourceType"] == "Patient":
                batch.patients.add(res["id"])
        batch.resources.extend(moved_by_merge(self.store, resources))
        batch.answered[key] = "AA"
        batch.applied.append((head.sender, resources))
        batch.received.append(
            (head.sender, head.control_id, "AA", head.message_type, None, received_at)
        )
        return Outcome("AA", head.control_id, head)

    def _answered(self, key: tuple[str, str]) -> str | None:
        with self.store.read_transaction() as tx:
            rows = tx.query(
                "SELECT ack_code FROM hl7_received WHERE sender = ? AND control_id = ?", key
            )
        return str(rows[0][0]) if rows else None

    # ---- the batch ----------------------------------------------------------------------
    def received_at(self) -> str:
        """The instant that stands in for a message without a readable MSH-7."""
        return clock.instant(clock.now())

    def commit(self, raws: Sequence[tuple[bytes, str]]) -> list[Outcome]:
        """Map and commit (raw message, peer) pairs (`prepare`, then `commit_prepared`)."""
        return self.commit_prepared(prepare_all(list(raws), self.ctx, self.received_at()))

    def commit_prepared(self, items: Sequence[Prepared]) -> list[Outcome]:
        """Commit prepared messages; their outcomes in the same order, once durable. A batch
        the store refuses is retried message by message, so one message can only spoil
        itself (it is then set aside with the store's reason)."""
        with self._lock:
            try:
                return self._commit(items)
            except Exception:
                if len(items) == 1:
                    raise
            out: list[Outcome] = []
            for item in items:
                try:
                    out.extend(self._commit([item]))
                except Exception as e:  # set aside alone; the feed goes on
                    out.append(self._store_refused(item, e))
            return out

    def _commit(self, items: Sequence[Prepared]) -> list[Outcome]:
        batch = _Batch()
        received_at = self.received_at()
        outcomes = [self._one(item, batch, received_at) for item in items]
        with self.store.durable_transaction() as tx:
            if batch.resources:
                self.store.upsert_many(batch.resources)
            for row in batch.received:
                tx.execute(
                    "INSERT INTO hl7_received (sender, control_id, ack_code, message_type,"
                    " reason, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
            for aside in batch.set_aside:
                self.store.quarantine(source=self.source, **aside)
        if len(self._ids) > CACHE_LIMIT:  # a long-running feed: start again, not grow forever
            self._ids.clear()
            self._patients.clear()
        # the feed's own ids are not remembered: FHIR sync may supersede them at any time
        self._ids.update({k: v for k, v in batch.found.items() if k not in batch.own})
        self._patients |= batch.patients
        if self.on_committed is not None:
            for sender, resources in batch.applied:
                try:
                    self.on_committed(sender, resources)
                except Exception:
                    log.exception("after the commit of a message from %s", sender)
        return outcomes

    def _store_refused(self, item: Prepared, error: Exception) -> Outcome:
        reason = f"could not be stored: {error}"
        self.store.quarantine(source=self.source, reason=reason, raw=item.raw, file=item.peer)
        cid = item.header.control_id if item.header else control_id_of(decode(item.raw))
        return Outcome("AE", cid, item.header, reason, "207")
