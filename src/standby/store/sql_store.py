"""The engine-neutral half of the store: the write path (version rules, index rows),
authoritative writes, quarantine and checkpoints; the reads are in `sql_reads`.

`SQLStore` implements `Store` over a tiny cursor interface (`connections.Cursor`);
`SQLiteStore` and `PostgresStore` only supply connections, id allocation and SQL dialect.
See docs/store.md.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from standby import clock
from standby.clock import instant
from standby.fhir.gate import ReceivedResource
from standby.fhir.search_params import Extracted, extract, patient_compartment
from standby.store import digest, schema
from standby.store.base import (
    JSON,
    Migration,
    QuarantineItem,
    StoredResource,
    Transaction,
    WriteOutcome,
    admit_all,
    quarantine_fingerprint,
)
from standby.store.connections import Cursor, SingleWriter
from standby.store.sql_reads import SQLReads
from standby.store.version_rules import (
    HELD_COLUMNS,
    decide,
    lu_ms,
    next_version,
    to_write,
    version_number,
)

# A tombstone to write: (type, id, versionId, lastUpdated).
Tombstone = tuple[str, str, str | None, str | None]


def now_instant() -> str:
    """The current time as a FHIR instant with milliseconds, in UTC: the `meta.lastUpdated`
    of an authoritative write (FHIR data; the store's own records use `standby.clock`)."""
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _key(item: ReceivedResource | Tombstone) -> tuple[str, str]:
    if isinstance(item, ReceivedResource):
        return (item.resource_type, item.id)
    return (item[0], item[1])


class SQLStore(SQLReads):
    """`Store` over SQL; engines implement the connection hooks below."""

    _single_writer: SingleWriter  # set by the engine once its write connection is open
    keeps_digest = True  # the per-patient digest (`standby.store.digest`) is kept

    def __init__(self) -> None:
        self._pids: dict[tuple[str, str], int] = {}
        self._sids: dict[str, int] = {"": 0}

    # ---- engine hooks ------------------------------------------------------------------
    def _writer(self) -> AbstractContextManager[Cursor]:
        """The single write transaction (re-entrant within one thread)."""
        return self._single_writer.transaction()

    @abstractmethod
    def _alloc(self, cur: Cursor, what: str, n: int) -> list[int]:
        """`n` new values of "rid" or "seq" (increasing)."""

    @abstractmethod
    def _apply_migrations(self, namespace: str, migrations: Sequence[Migration]) -> None: ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        return self._writer()

    def read_transaction(self) -> AbstractContextManager[Transaction]:
        return self._reader()

    def ensure_schema(self, namespace: str, migrations: Sequence[Migration]) -> None:
        self._apply_migrations(namespace, migrations)

    def _init_schema(self) -> None:
        self._apply_migrations(schema.NAMESPACE, schema.MIGRATIONS)
        digest.migrate(self)  # builds the digest of a replica that predates it

    # ---- interned search parameters ----------------------------------------------------
    def _pid_read(self, rtype: str, name: str) -> int | None:
        key = (rtype, name)
        pid = self._pids.get(key)
        if pid is None:
            with self._reader() as cur:
                rows = cur.query(
                    "SELECT pid FROM search_param WHERE type = ? AND name = ?", (rtype, name)
                )
            if not rows:
                return None
            pid = self._pids[key] = int(rows[0][0])
        return pid

    def _pid_write(self, cur: Cursor, rtype: str, name: str) -> int:
        key = (rtype, name)
        pid = self._pids.get(key)
        if pid is None:
            rows = cur.query("SELECT pid FROM search_param WHERE type = ? AND name = ?", key)
            if not rows:
                cur.execute("INSERT INTO search_param (type, name) VALUES (?, ?)", key)
                rows = cur.query("SELECT pid FROM search_param WHERE type = ? AND name = ?", key)
            pid = int(rows[0][0])
            # cached only after commit would be safer; pids are never deleted, and a
            # rolled-back insert is re-created on next use (see _forget_pids).
            self._pids[key] = pid
        return pid

    def _sid_read(self, uri: str) -> int | None:
        sid = self._sids.get(uri)
        if sid is None:
            with self._reader() as cur:
                rows = cur.query("SELECT sid FROM token_system WHERE uri = ?", (uri,))
            if not rows:
                return None
            sid = self._sids[uri] = int(rows[0][0])
        return sid

    def _sid_write(self, cur: Cursor, uri: str) -> int:
        sid = self._sids.get(uri)
        if sid is None:
            rows = cur.query("SELECT sid FROM token_system WHERE uri = ?", (uri,))
            if not rows:
                cur.execute("INSERT INTO token_system (uri) VALUES (?)", (uri,))
                rows = cur.query("SELECT sid FROM token_system WHERE uri = ?", (uri,))
            sid = self._sids[uri] = int(rows[0][0])
        return sid

    def _forget_pids(self) -> None:
        self._pids.clear()
        self._sids = {"": 0}

    # ---- index rows --------------------------------------------------------------------
    def _index_rows(
        self, cur: Cursor, rtype: str, rid: int, ex: Extracted, rows: dict[str, list[Any]]
    ) -> None:
        # run once per index value of every resource written: cached ids looked up inline
        pids, sids = self._pids, self._sids
        out = rows["token"]
        for name, system, code in ex.token:
            pid = pids.get((rtype, name))
            if pid is None:
                pid = self._pid_write(cur, rtype, name)
            sid = sids.get(system)
            if sid is None:
                sid = self._sid_write(cur, system)
            out.append((rid, pid, code, sid))
        out = rows["string"]
        for name, value in ex.string:
            pid = pids.get((rtype, name))
            out.append((rid, self._pid_write(cur, rtype, name) if pid is None else pid, value))
        out = rows["date"]
        for name, lo, hi in ex.date:
            pid = pids.get((rtype, name))
            out.append((rid, self._pid_write(cur, rtype, name) if pid is None else pid, lo, hi))
        out = rows["ref"]
        for name, ttype, tid in ex.reference:
            pid = pids.get((rtype, name))
            out.append((rid, self._pid_write(cur, rtype, name) if pid is None else pid, tid, ttype))

    def _flush_index(self, cur: Cursor, rows: dict[str, list[Any]]) -> None:
        if rows["token"]:
            cur.insert_rows("idx_token", "rid, pid, code, sid", rows["token"])
        if rows["string"]:
            cur.insert_rows("idx_string", "rid, pid, value", rows["string"])
        if rows["date"]:
            cur.insert_rows("idx_date", "rid, pid, lo, hi", rows["date"])
        if rows["ref"]:
            cur.insert_rows("idx_ref", "rid, pid, ref_id, ref_type", rows["ref"])

    def _drop_index(self, cur: Cursor, rids: list[int]) -> None:
        if not rids:
            return
        for table in ("idx_token", "idx_string", "idx_date", "idx_ref"):
            cur.executemany(f"DELETE FROM {table} WHERE rid = ?", [(r,) for r in rids])

    def _held(self, cur: Cursor, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
        by_type: dict[str, list[str]] = {}
        for t, i in keys:
            by_type.setdefault(t, []).append(i)
        out: dict[tuple[str, str], tuple] = {}
        for t, ids in by_type.items():
            for k in range(0, len(ids), 500):
                chunk = ids[k : k + 500]
                for row in cur.query(
                    f"SELECT {HELD_COLUMNS} FROM resource WHERE type = ? AND id IN "
                    f"({','.join('?' * len(chunk))})",
                    [t, *chunk],
                ):
                    out[(row[1], row[2])] = tuple(row)
        return out

    # ---- the write path ----------------------------------------------------------------
    def _write_unique(
        self, cur: Cursor, items: Sequence[ReceivedResource | Tombstone]
    ) -> list[WriteOutcome]:
        """Apply the version rules (`version_rules.decide`) to a batch whose (type, id) keys
        are unique."""
        keys = [_key(i) for i in items]
        held = self._held(cur, keys)
        stamp = now_instant()
        stamp_ms = lu_ms(stamp)
        outcomes: list[WriteOutcome] = []
        # (key, held row or None, vid, lu_text, lu, deleted, body, patient, extracted)
        ops: list[tuple[tuple[str, str], tuple | None, str, str, int, int, bytes, Any, Any]] = []
        for item, key in zip(items, keys, strict=True):
            h = held.get(key)
            if isinstance(item, ReceivedResource):
                outcome, vid, lu_text, lu = decide(
                    item.version_id, item.last_updated, False, h, stamp, stamp_ms
                )
            else:
                outcome, vid, lu_text, lu = decide(item[2], item[3], True, h, stamp, stamp_ms)
            outcomes.append(outcome)
            if outcome is WriteOutcome.UNCHANGED or outcome is WriteOutcome.STALE:
                continue
            if isinstance(item, ReceivedResource):
                res = item.json
                ops.append(
                    (key, h, vid, lu_text, lu, 0, item.raw, patient_compartment(res), extract(res))
                )
            else:
                ops.append((key, h, vid, lu_text, lu, 1, b"", None, None))
        if not ops:
            return outcomes
        seqs = self._alloc(cur, "seq", len(ops))
        n_new = sum(1 for op in ops if op[1] is None)
        rids = iter(self._alloc(cur, "rid", n_new) if n_new else [])
        index_rows: dict[str, list[Any]] = {"token": [], "string": [], "date": [], "ref": []}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        written: list[digest.Change] = []
        for (key, h, vid, lu_text, lu, deleted, body, patient, ex), seq in zip(
            ops, seqs, strict=True
        ):
            if h is None:
                rid = next(rids)
                inserts.append((rid, key[0], key[1], vid, lu_text, lu, seq, deleted, patient, body))
            else:
                rid = h[0]
                updates.append((vid, lu_text, lu, seq, deleted, patient, body, rid))
            if ex is not None:
                self._index_rows(cur, key[0], rid, ex, index_rows)
            written.append((rid, key[0], patient, ex, h is not None))
        if updates:
            old = [(u[-1],) for u in updates]
            cur.executemany(
                "INSERT INTO resource_history"
                " (rid, version_id, last_updated, deleted, body, seq, lu)"
                " SELECT rid, version_id, last_updated, deleted, body, seq, lu FROM resource"
                " WHERE rid = ?"
                # a source that reuses a version id must not stop the write
                " ON CONFLICT (rid, version_id) DO NOTHING",
                old,
            )
            self._drop_index(cur, [u[-1] for u in updates])
            cur.executemany(
                "UPDATE resource SET version_id = ?, last_updated = ?, lu = ?, seq = ?,"
                " deleted = ?, patient_id = ?, body = ? WHERE rid = ?",
                updates,
            )
        if inserts:
            cur.insert_rows(
                "resource",
                "rid, type, id, version_id, last_updated, lu, seq, deleted, patient_id, body",
                inserts,
            )
        self._flush_index(cur, index_rows)
        digest.keep(cur, written)  # in this transaction: it never disagrees with them
        return outcomes

    def _write(
        self, cur: Cursor, items: Sequence[ReceivedResource | Tombstone]
    ) -> list[WriteOutcome]:
        """`_write_unique` over runs of the batch in which no (type, id) repeats."""
        out: list[WriteOutcome] = []
        run: list[ReceivedResource | Tombstone] = []
        seen: set[tuple[str, str]] = set()
        for item in items:
            key = _key(item)
            if key in seen:
                out.extend(self._write_unique(cur, run))
                run, seen = [], set()
            run.append(item)
            seen.add(key)
        if run:
            out.extend(self._write_unique(cur, run))
        return out

    def _checkpoint(self, cur: Cursor, checkpoint: tuple[str, str] | None) -> None:
        if checkpoint is not None:
            self._set_checkpoint(cur, *checkpoint)

    def _set_checkpoint(self, cur: Cursor, stream: str, value: str) -> None:
        cur.execute(
            "INSERT INTO checkpoint (stream, value) VALUES (?, ?)"
            " ON CONFLICT (stream) DO UPDATE SET value = excluded.value",
            (stream, value),
        )

    # ---- replica writes ----------------------------------------------------------------
    def upsert_many(
        self,
        resources: Iterable[bytes | ReceivedResource],
        *,
        checkpoint: tuple[str, str] | None = None,
    ) -> list[WriteOutcome]:
        items = admit_all(resources, max_bytes=self.max_resource_bytes)
        with self._writer() as cur:
            out = self._write(cur, items)
            self._checkpoint(cur, checkpoint)
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
        with self._writer() as cur:
            out = self._write(cur, [(resource_type, id, version_id, last_updated)])
            self._checkpoint(cur, checkpoint)
        return out[0]

    # ---- authoritative writes ----------------------------------------------------------
    def _authoritative(self, resource: JSON, *, if_match: str | None) -> StoredResource:
        rtype, res = to_write(resource)
        with self._writer() as cur:
            held = self._held(cur, [(rtype, res["id"])]).get((rtype, res["id"]))
            current = None if held is None else (str(held[3]), bool(held[6]))
            new = next_version(rtype, res, current, if_match, now_instant())
            self._write(cur, [new])
        return StoredResource(
            rtype, new.id, str(new.version_id), str(new.last_updated), False, new.raw
        )

    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        with self._writer() as cur:
            held = self._held(cur, [(resource_type, id)]).get((resource_type, id))
            if held is None or held[6]:
                return None
            vid = str(version_number(held[3]) + 1)
            lu_text = now_instant()
            self._write(cur, [(resource_type, id, vid, lu_text)])
        return StoredResource(resource_type, id, vid, lu_text, True, b"")

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
        raw = bytes(raw)
        mark = quarantine_fingerprint(source, reason, raw, resource_type, resource_id, line)
        with self._writer() as cur:
            if cur.query("SELECT 1 FROM quarantine WHERE fingerprint = ?", (mark,)):
                return
            cur.execute(
                "INSERT INTO quarantine (at, source, file, line, resource_type, resource_id,"
                " reason, raw, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    instant(clock.now()),
                    source,
                    file,
                    line,
                    resource_type,
                    resource_id,
                    reason,
                    raw,
                    mark,
                ),
            )

    def count_quarantined(self, *, since: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM quarantine", []
        if since:
            sql += " WHERE at > ?"
            args.append(since)
        with self._reader() as cur:
            return int(cur.query(sql, args)[0][0])

    def quarantined(self, *, since: str | None = None, limit: int = 100) -> list[QuarantineItem]:
        sql = (
            "SELECT id, at, source, file, line, resource_type, resource_id, reason, raw"
            " FROM quarantine"
        )
        args: list[Any] = []
        if since:
            sql += " WHERE at > ?"
            args.append(since)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._reader() as cur:
            rows = cur.query(sql, args)
        return [
            QuarantineItem(
                id=int(r[0]),
                at=r[1],
                source=r[2],
                file=r[3],
                line=r[4],
                resource_type=r[5],
                resource_id=r[6],
                reason=r[7],
                excerpt=bytes(r[8])[:200].decode("utf-8", "replace"),
            )
            for r in rows
        ]

    def get_checkpoint(self, stream: str) -> str | None:
        with self._reader() as cur:
            rows = cur.query("SELECT value FROM checkpoint WHERE stream = ?", (stream,))
        return rows[0][0] if rows else None

    def set_checkpoint(self, stream: str, value: str) -> None:
        with self._writer() as cur:
            self._set_checkpoint(cur, stream, value)
