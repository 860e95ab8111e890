"""The memory engine: the `Store` interface over Python dictionaries (docs/store.md).

For tests and tools that need a replica without a database, as Medplum keeps a
MemoryRepository beside its PostgreSQL one. It passes the same contract suite as the SQL
engines (tests/store/test_store_contract.py): the same version rules, the same index values
(`standby.fhir.search_params.extract`) and the same search semantics
(`standby.store.memory_search`). Other packages' operational tables (`ensure_schema`,
`transaction`) live in a private in-memory SQLite database, so their SQL runs unchanged.

One lock serialises every call (readers wait for the writer). Resource writes, checkpoints
and quarantine made inside `transaction()` roll back with it, as on the SQL engines.
Nothing survives `close()`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from standby.fhir.gate import ReceivedResource
from standby.fhir.search_params import extract, patient_compartment
from standby.store.base import (
    JSON,
    Migration,
    QuarantineItem,
    SearchPage,
    Store,
    StoredResource,
    Transaction,
    WriteOutcome,
    admit_all,
    quarantine_fingerprint,
)
from standby.store.encryption import connect
from standby.store.memory_search import compile_search, compile_sort, index_values, ordered
from standby.store.migrations import apply as apply_migrations
from standby.store.sql_store import now_instant
from standby.store.version_rules import (
    decide,
    lu_ms,
    newest_first,
    next_version,
    to_write,
    version_number,
)

Key = tuple[str, str]


@dataclass(slots=True)
class _Current:
    """The current version of one resource, with what search and the change feed read."""

    rid: int  # storage order, kept across versions (the search tie-break)
    seq: int  # change sequence of this version
    lu: int  # lastUpdated, epoch ms
    patient: str | None  # compartment; None for tombstones
    values: dict[str, list[Any]]  # index values by parameter
    stored: StoredResource

    @property
    def id(self) -> str:
        return self.stored.id


class _SQL(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()


class MemoryStore(Store):
    """`Store` in this process's memory."""

    engine = "memory"

    def __init__(
        self, *, batch_size: int = 2000, max_resource_bytes: int = 16 * 1024 * 1024
    ) -> None:
        self.batch_size = batch_size
        self.max_resource_bytes = max_resource_bytes
        self._lock = threading.RLock()
        self._types: dict[str, dict[str, _Current]] = {}
        # previous versions, each with the change sequence and lastUpdated (ms) it had
        self._history: dict[Key, list[tuple[int, int, StoredResource]]] = {}
        self._by_seq: dict[int, Key] = {}  # in sequence order
        self._compartments: dict[str, dict[Key, None]] = {}
        self._rid = 0
        self._seq = 0
        self._quarantine: list[QuarantineItem] = []
        self._fingerprints: dict[str, int] = {}  # fingerprint → index in _quarantine
        self._checkpoints: dict[str, str] = {}
        self._conn: sqlite3.Connection = connect(":memory:", None)
        self._depth = 0
        # inside transaction(): each key's version before it, with its history's length
        self._undo: dict[Key, tuple[_Current | None, int]] | None = None
        self._saved: tuple[dict[str, str], int, int, int] = ({}, 0, 0, 0)

    # ---- the write path ----------------------------------------------------------------
    def _held(self, key: Key) -> _Current | None:
        return self._types.get(key[0], {}).get(key[1])

    def _write(
        self,
        key: Key,
        vid: str | None,
        lu_text: str | None,
        item: tuple[bytes, JSON] | None,
        stamp: str,
    ) -> WriteOutcome:
        """Apply the replica version rules (docs/store.md#version-rules) to one version:
        `item` is the body and its resource, or None for a tombstone."""
        held = self._held(key)
        row = None
        if held is not None:
            h = held.stored
            row = (held.rid, key[0], key[1], h.version_id, h.last_updated, held.lu, h.deleted)
        outcome, vid, lu_text, lu = decide(vid, lu_text, item is None, row, stamp, lu_ms(stamp))
        if outcome in (WriteOutcome.UNCHANGED, WriteOutcome.STALE):
            return outcome
        if item is None:
            stored = StoredResource(key[0], key[1], vid, lu_text, True, b"")
            patient, values = None, {}
        else:
            stored = StoredResource(key[0], key[1], vid, lu_text, False, item[0])
            patient, values = patient_compartment(item[1]), index_values(extract(item[1]))
        if self._undo is not None and key not in self._undo:
            self._undo[key] = (held, len(self._history.get(key, ())))
        self._seq += 1
        if held is None:
            self._rid += 1
            rid = self._rid
        else:
            rid = held.rid
            self._history.setdefault(key, []).append((held.seq, held.lu, held.stored))
            del self._by_seq[held.seq]
            if held.patient is not None:
                self._compartments[held.patient].pop(key, None)
        self._types.setdefault(key[0], {})[key[1]] = _Current(
            rid, self._seq, lu, patient, values, stored
        )
        self._by_seq[self._seq] = key
        if patient is not None:
            self._compartments.setdefault(patient, {})[key] = None
        if item is None:
            return WriteOutcome.DELETED
        return WriteOutcome.UPDATED if held is not None else WriteOutcome.CREATED

    def _write_received(self, batch: Sequence[ReceivedResource]) -> list[WriteOutcome]:
        stamp = now_instant()
        return [
            self._write(
                (r.resource_type, r.id), r.version_id, r.last_updated, (r.raw, r.json), stamp
            )
            for r in batch
        ]

    # ---- replica writes ----------------------------------------------------------------
    def upsert_many(
        self,
        resources: Iterable[bytes | ReceivedResource],
        *,
        checkpoint: tuple[str, str] | None = None,
    ) -> list[WriteOutcome]:
        batch = admit_all(resources, max_bytes=self.max_resource_bytes)
        with self._lock:
            out = self._write_received(batch)
            if checkpoint is not None:
                self._checkpoints[checkpoint[0]] = checkpoint[1]
        return out

    def tombstone(
        self,
        resource_type: str,
        id: str,
        *,
        version_id: str | None = None,
        last_updated: str | None = None,
        checkpoint: tuple[str, str] | None = None,
    ) -> WriteOutcome:
        with self._lock:
            out = self._write((resource_type, id), version_id, last_updated, None, now_instant())
            if checkpoint is not None:
                self._checkpoints[checkpoint[0]] = checkpoint[1]
        return out

    # ---- authoritative writes ----------------------------------------------------------
    def _authoritative(self, resource: JSON, *, if_match: str | None) -> StoredResource:
        rtype, res = to_write(resource)
        key = (rtype, res["id"])
        with self._lock:
            held = self._held(key)
            current = None if held is None else (held.stored.version_id, held.stored.deleted)
            stamp = now_instant()
            new = next_version(rtype, res, current, if_match, stamp)
            self._write(key, new.version_id, stamp, (new.raw, new.json), stamp)
        return StoredResource(
            rtype, new.id, str(new.version_id), str(new.last_updated), False, new.raw
        )

    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        with self._lock:
            held = self._held((resource_type, id))
            if held is None or held.stored.deleted:
                return None
            vid = str(version_number(held.stored.version_id) + 1)
            lu_text = now_instant()
            self._write((resource_type, id), vid, lu_text, None, lu_text)
        return StoredResource(resource_type, id, vid, lu_text, True, b"")

    # ---- reads -------------------------------------------------------------------------
    def read(self, resource_type: str, id: str) -> StoredResource | None:
        with self._lock:
            held = self._held((resource_type, id))
            return held.stored if held is not None else None

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredResource | None:
        versions = self.history(resource_type, id)
        return next((v for v in versions if v.version_id == version_id), None)

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        key = (resource_type, id)
        with self._lock:
            held = self._held(key)
            if held is None:
                return []
            versions = [held.stored, *(old for _, _, old in self._history.get(key, []))]
        return newest_first(versions)

    def changes_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        after_seq: int = 0,
    ) -> list[tuple[int, StoredResource]]:
        since_ms = lu_ms(since) if since else None
        out: list[tuple[int, StoredResource]] = []
        with self._lock:
            for seq, key in self._by_seq.items():
                if len(out) >= limit:
                    break
                if seq <= after_seq or (types and key[0] not in types):
                    continue
                held = self._types[key[0]][key[1]]
                if since_ms is None or held.lu > since_ms:
                    out.append((seq, held.stored))
        return out

    def versions_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        before_seq: int | None = None,
    ) -> list[tuple[int, StoredResource]]:
        since_ms = lu_ms(since) if since else None
        with self._lock:
            every = [
                (held.seq, held.lu, held.stored)
                for rtype, rows in self._types.items()
                if not types or rtype in types
                for held in rows.values()
            ] + [
                old
                for key, olds in self._history.items()
                if not types or key[0] in types
                for old in olds
            ]
        found = [
            (seq, sr)
            for seq, lu, sr in every
            if (before_seq is None or seq < before_seq) and (since_ms is None or lu >= since_ms)
        ]
        found.sort(key=lambda x: -x[0])
        return found[:limit]

    def last_seq(self) -> int | None:
        return self._seq

    def change_marks(
        self, after_seq: int, *, limit: int = 10000
    ) -> list[tuple[int, str, str, str | None]] | None:
        out: list[tuple[int, str, str, str | None]] = []
        with self._lock:
            for seq, key in self._by_seq.items():
                if seq > after_seq:
                    out.append((seq, key[0], key[1], self._types[key[0]][key[1]].patient))
                    if len(out) >= limit:
                        break
        return out

    def search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        sort: Sequence[str] = (),
        count: int = 50,
        offset: int = 0,
        total: bool = False,
    ) -> SearchPage:
        predicates = compile_search(resource_type, params)
        keys = compile_sort(resource_type, sort)
        with self._lock:
            rows = [
                row
                for row in self._types.get(resource_type, {}).values()
                if not row.stored.deleted and all(p(row) for p in predicates)
            ]
        rows.sort(key=lambda r: r.rid)
        rows = ordered(rows, keys)
        page = [r.stored for r in rows[offset : offset + count]]
        return SearchPage(page, len(rows) if total else None)

    def compartment(
        self, patient_id: str, types: Sequence[str] | None = None
    ) -> list[StoredResource]:
        with self._lock:
            rows = [
                self._types[t][i]
                for t, i in self._compartments.get(patient_id, {})
                if not types or t in types
            ]
        return [r.stored for r in sorted(rows, key=lambda r: r.rid)]

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        with self._lock:
            rows = [r.stored for r in self._types.get(resource_type, {}).values()]
        return (s for s in rows if not s.deleted)

    def counts_by_type(self) -> dict[str, int]:
        with self._lock:
            counts = {
                t: sum(1 for r in rows.values() if not r.stored.deleted)
                for t, rows in sorted(self._types.items())
            }
        return {t: n for t, n in counts.items() if n}

    # ---- quarantine, checkpoints -------------------------------------------------------
    def quarantine(
        self,
        *,
        source: str,
        reason: str,
        raw: bytes,
        file: str | None = None,
        line: int | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        mark = quarantine_fingerprint(source, reason, bytes(raw), resource_type, resource_id, line)
        with self._lock:
            if mark in self._fingerprints:
                return
            self._fingerprints[mark] = len(self._quarantine)
            self._quarantine.append(
                QuarantineItem(
                    id=len(self._quarantine) + 1,
                    at=now_instant(),
                    source=source,
                    file=file,
                    line=line,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    reason=reason,
                    excerpt=bytes(raw)[:200].decode("utf-8", "replace"),
                )
            )

    def quarantined(self, *, since: str | None = None, limit: int = 100) -> list[QuarantineItem]:
        with self._lock:
            items = [q for q in reversed(self._quarantine) if not since or q.at > since]
        return items[:limit]

    def get_checkpoint(self, stream: str) -> str | None:
        with self._lock:
            return self._checkpoints.get(stream)

    def set_checkpoint(self, stream: str, value: str) -> None:
        with self._lock:
            self._checkpoints[stream] = value

    # ---- operational schemas of other packages ------------------------------------------
    def ensure_schema(self, namespace: str, migrations: Sequence[Migration]) -> None:
        with self.transaction() as tx:
            apply_migrations(tx, namespace, migrations, postgres=False)

    @contextmanager
    def _sql_transaction(self) -> Iterator[Transaction]:
        with self._lock:
            if self._depth:  # re-entrant: part of the enclosing transaction
                self._depth += 1
                try:
                    yield _SQL(self._conn)
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN")
            self._depth = 1
            self._undo = {}
            self._saved = (dict(self._checkpoints), len(self._quarantine), self._rid, self._seq)
            try:
                yield _SQL(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._roll_back()
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0
                self._undo = None

    def _roll_back(self) -> None:
        """Undo the resource writes, checkpoints and quarantine of the transaction."""
        for key, (prior, n_history) in (self._undo or {}).items():
            current = self._types[key[0]][key[1]]
            if current.patient is not None:
                self._compartments[current.patient].pop(key, None)
            if prior is None:
                del self._types[key[0]][key[1]]
            else:
                self._types[key[0]][key[1]] = prior
                if prior.patient is not None:
                    self._compartments.setdefault(prior.patient, {})[key] = None
            del self._history.get(key, [])[n_history:]
        self._by_seq = {
            row.seq: (rtype, row.id)
            for rtype, row in sorted(
                ((t, r) for t, rows in self._types.items() for r in rows.values()),
                key=lambda tr: tr[1].seq,
            )
        }
        checkpoints, n_quarantined, self._rid, self._seq = self._saved
        self._checkpoints = checkpoints
        del self._quarantine[n_quarantined:]
        self._fingerprints = {k: i for k, i in self._fingerprints.items() if i < n_quarantined}

    def transaction(self) -> AbstractContextManager[Transaction]:
        return self._sql_transaction()

    def read_transaction(self) -> AbstractContextManager[Transaction]:
        return self._sql_transaction()

    # ---- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()
