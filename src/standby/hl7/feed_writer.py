"""Committing what the feed sends: messages in, FHIR resources and the answer to each
message out, in one durable transaction per batch (docs/hl7.md).

A batch is the messages that arrived while the previous batch was being committed (group
commit: one fsync for many messages). What the batch needs of the replica is read first,
a few queries for all its messages (`_read_ahead`: the control ids already answered, the ids
held for its identifiers, its patients held); nothing is remembered between batches. Then
for each message, in arrival order:

1. read and map it (`prepare`, pure: in worker processes when the listener has them);
   what is not HL7 v2 is set aside (AR), and so is what cannot be mapped (AE/AR);
2. a control id already answered for this sender is answered again, nothing written;
3. ids named by real-world key are swapped for the ids the replica already holds for the
   same identifier (a Patient from FHIR sync keeps its id), or that an earlier message of
   the batch wrote;
4. a message about a patient the replica does not know (anything but ADT) is set aside (AE).

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
from standby.fhir import administrations
from standby.fhir.gate import ReceivedResource, Refusal, admit
from standby.hl7.datatypes import Context
from standby.hl7.mapped import JSON, Mapped, MappingError, unknown_key
from standby.hl7.precedence import moved_by_merge
from standby.hl7.prepare import Header, Prepared, control_id_of, decode, prepare_all
from standby.hl7.replica_reads import held_by_identifier, held_ids
from standby.store import Migration, Store
from standby.store.connections import Cursor
from standby.store.search_any import search_any

log = logging.getLogger("standby.hl7")

NAMESPACE = "hl7"
MIGRATIONS = [
    Migration(
        1,
        "messages answered, by sender and control id",
        "CREATE TABLE hl7_received (sender TEXT NOT NULL, control_id TEXT NOT NULL,"
        " ack_code TEXT NOT NULL, message_type TEXT NOT NULL, reason TEXT,"
        " received_at TEXT NOT NULL, PRIMARY KEY (sender, control_id))",
    ),
    Migration(
        2,
        "answers by when they were given (retention prunes the old ones)",
        "CREATE INDEX hl7_received_at ON hl7_received (received_at)",
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

    resources: list[bytes | ReceivedResource] = field(default_factory=list)
    received: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[tuple[str, str], str] = field(default_factory=dict)
    found: dict[tuple[str, str, str], str] = field(default_factory=dict)  # identifier -> id
    patients: set[str] = field(default_factory=set)
    held: set[tuple[str, str]] = field(default_factory=set)
    applied: list[tuple[str, list[JSON]]] = field(default_factory=list)  # (sender, resources)
    # what the replica held when the batch began (`FeedWriter._read_ahead`)
    before: dict[tuple[str, str], str] = field(default_factory=dict)  # answered control ids
    known: dict[tuple[str, str, str], str] = field(default_factory=dict)  # identifier -> id
    patients_held: set[str] = field(default_factory=set)


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

    # ---- reading the replica: one look-up per kind, for the whole batch ---------------
    def _read_ahead(self, items: Sequence[Prepared], batch: _Batch) -> None:
        """What the batch needs to know of the replica, in a few queries for all its
        messages: the control ids already answered, the ids held for each identifier
        (`Lookup`) and which of the batch's patients are held. Nothing is remembered
        between batches: FHIR sync may supersede what the feed wrote at any time."""
        keys: set[tuple[str, str]] = set()
        wanted: dict[str, set[tuple[str, str]]] = {}
        for item in items:
            if item.header is not None:
                keys.add((item.header.sender, item.header.control_id))
            if item.mapped is not None:
                for lk in item.mapped.lookups:
                    wanted.setdefault(lk.resource_type, set()).add((lk.system, lk.value))
        batch.before = self._answered(keys)
        for rtype, pairs in wanted.items():
            for pair, rid in held_by_identifier(self.store, rtype, pairs).items():
                batch.known[(rtype, *pair)] = rid
        patients: set[str] = set()
        for item in items:
            mapped = item.mapped
            if mapped is None or mapped.registers_patient or not mapped.patient_id:
                continue
            patients.add(mapped.patient_id)
            for lk in mapped.lookups:
                got = batch.known.get((lk.resource_type, lk.system, lk.value))
                if lk.resource_type == "Patient" and got:
                    patients.add(got)
        batch.patients_held = held_ids(self.store, "Patient", patients)

    def _lookup(self, rtype: str, system: str, value: str, batch: _Batch) -> str | None:
        key = (rtype, system, value)
        return batch.found.get(key) or batch.known.get(key)

    def _patient_held(self, pid: str, batch: _Batch) -> bool:
        return pid in batch.patients or pid in batch.patients_held

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
        before = batch.answered.get(key) or batch.before.get(key)
        if before is not None:
            return Outcome(before, head.control_id, head, duplicate=True)
        try:
            if item.error is not None:
                raise MappingError(*item.error)
            assert item.mapped is not None
            mapped = item.mapped
            resources = self._resolve(mapped, batch)
            ehr_has = self._administrations_held(resources)
            if ehr_has:  # FHIR sync brought the same dose first: FHIR wins
                resources = [r for r in resources if r.get("id") not in ehr_has]
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
                batch.resources.append(self._admitted(res))
                batch.held.add((res["resourceType"], res["id"]))
        for res in resources:
            batch.resources.append(self._admitted(res))
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

    def _administrations_held(self, resources: list[JSON]) -> set[str]:
        """Ids of the doses among `resources` the replica holds from the EHR already."""
        mine = [r for r in resources if administrations.key(r) is not None]
        if not mine:
            return set()
        held = search_any(
            self.store, "MedicationAdministration", "request", administrations.orders_of(mine)
        )
        return administrations.already_from_the_ehr(mine, ((h.id, h.json()) for h in held))

    def _admitted(self, res: JSON) -> ReceivedResource:
        """A mapped resource through the store's gate without parsing it again (the store
        would otherwise read back the bytes just made); ValueError as `upsert_many` would."""
        got = admit(orjson.dumps(res), max_bytes=self.store.max_resource_bytes, parsed=res)
        if isinstance(got, Refusal):
            named = "/".join(x for x in (got.resource_type, got.id) if x)
            raise ValueError(f"{named}: {got.reason}" if named else got.reason)
        return got

    def _answered(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The answer already given to each of these (sender, control id) pairs."""
        out: dict[tuple[str, str], str] = {}
        cids = sorted({cid for _, cid in keys})
        with self.store.read_transaction() as tx:
            for k in range(0, len(cids), 500):
                chunk = cids[k : k + 500]
                for sender, cid, code in tx.query(
                    "SELECT sender, control_id, ack_code FROM hl7_received WHERE control_id IN"
                    f" ({','.join('?' * len(chunk))})",
                    chunk,
                ):
                    if (sender, cid) in keys:
                        out[(str(sender), str(cid))] = str(code)
        return out

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
        self._read_ahead(items, batch)
        outcomes = [self._one(item, batch, received_at) for item in items]
        with self.store.durable_transaction() as tx:
            if batch.resources:
                self.store.upsert_many(batch.resources)
            # the batch's answers in one statement (a row each was a statement each)
            sql = (
                "INSERT INTO hl7_received (sender, control_id, ack_code, message_type,"
                " reason, received_at) VALUES (?, ?, ?, ?, ?, ?)"
            )
            if isinstance(tx, Cursor):
                tx.executemany(sql, batch.received)
            else:
                for row in batch.received:
                    tx.execute(sql, row)
            for aside in batch.set_aside:
                self.store.quarantine(source=self.source, **aside)
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
