"""The engine-neutral half of the store: version rules, index rows, search, quarantine.

`SQLStore` implements `Store` over a tiny cursor interface (`Cursor`); `SQLiteStore` and
`PostgresStore` only supply connections, id allocation and SQL dialect. See docs/store.md.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import orjson

from standby import clock
from standby.clock import instant
from standby.fhir.search_params import (
    Extracted,
    date_range,
    extract,
    patient_compartment,
)
from standby.store import schema
from standby.store.base import (
    JSON,
    IngestReport,
    Migration,
    QuarantineItem,
    SearchPage,
    Store,
    StoredResource,
    Transaction,
    VersionConflict,
    WriteOutcome,
)
from standby.store.ingest import ingest_lines
from standby.store.search_sql import build_order, build_where


class Cursor(Transaction):
    """A `Transaction` that can also run one statement over many rows."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_rows(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows (PostgreSQL uses COPY)."""
        marks = ", ".join("?" * len(columns.split(",")))
        self.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


_COLS = "r.type, r.id, r.version_id, r.last_updated, r.deleted, r.body"
_RES_COLS = "rid, type, id, version_id, last_updated, lu, deleted"


def now_instant() -> str:
    """The current time as a FHIR instant with milliseconds, in UTC: the `meta.lastUpdated`
    of an authoritative write (FHIR data; the store's own records use `standby.clock`)."""
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _lu_ms(instant: str) -> int:
    rng = date_range(instant)
    return rng[0] if rng else 0


def _vnum(version_id: str) -> int:
    try:
        return int(version_id)
    except ValueError:
        return 0


def _row(row: Sequence[Any]) -> StoredResource:
    b = row[5]
    return StoredResource(
        row[0], row[1], row[2], row[3], row[4] == 1, b if type(b) is bytes else bytes(b)
    )


class _Pending:
    """One resource to write in a batch, with what is known of the version held."""

    __slots__ = ("body", "lu", "lu_text", "res", "rid_text", "rtype", "vid")

    def __init__(self, body: bytes, res: JSON) -> None:
        self.body = body
        self.res = res
        self.rtype: str = res["resourceType"]
        self.rid_text: str = res["id"]
        meta = res.get("meta") if isinstance(res.get("meta"), dict) else {}
        vid = meta.get("versionId") if meta else None
        lu = meta.get("lastUpdated") if meta else None
        self.vid: str | None = vid if isinstance(vid, str) else None
        self.lu_text: str | None = lu if isinstance(lu, str) else None
        self.lu = _lu_ms(self.lu_text) if self.lu_text else None


def parse_body(body: bytes) -> JSON:
    """The resource in a body; ValueError unless an object with resourceType and id."""
    try:
        res = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(res, dict):
        raise ValueError("not a JSON object")
    if not isinstance(res.get("resourceType"), str):
        raise ValueError("no resourceType")
    if not isinstance(res.get("id"), str) or not res["id"]:
        raise ValueError(f"{res['resourceType']} without id")
    return res


class SQLStore(Store):
    """`Store` over SQL; engines implement the connection hooks below."""

    batch_size: int = 2000
    max_resource_bytes: int = 16 * 1024 * 1024

    def __init__(self) -> None:
        self._pids: dict[tuple[str, str], int] = {}
        self._sids: dict[str, int] = {"": 0}

    # ---- engine hooks ------------------------------------------------------------------
    @abstractmethod
    def _writer(self) -> AbstractContextManager[Cursor]:
        """The single write transaction (re-entrant within one thread)."""

    @abstractmethod
    def _reader(self) -> AbstractContextManager[Cursor]:
        """A read-only snapshot."""

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
        for name, system, code in ex.token:
            sid = self._sids.get(system)
            if sid is None:
                sid = self._sid_write(cur, system)
            rows["token"].append((rid, self._pid_write(cur, rtype, name), code, sid))
        for name, value in ex.string:
            rows["string"].append((rid, self._pid_write(cur, rtype, name), value))
        for name, lo, hi in ex.date:
            rows["date"].append((rid, self._pid_write(cur, rtype, name), lo, hi))
        for name, ttype, tid in ex.reference:
            rows["ref"].append((rid, self._pid_write(cur, rtype, name), tid, ttype))

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
                    f"SELECT {_RES_COLS} FROM resource WHERE type = ? AND id IN "
                    f"({','.join('?' * len(chunk))})",
                    [t, *chunk],
                ):
                    out[(row[1], row[2])] = tuple(row)
        return out

    # ---- the write path ----------------------------------------------------------------
    def _write_unique(
        self,
        cur: Cursor,
        items: Sequence[_Pending | tuple[str, str, str | None, str | None]],
    ) -> list[WriteOutcome]:
        """Apply the replica version rules to a batch whose (type, id) keys are unique.
        An item is a body (`_Pending`) or a tombstone `(type, id, versionId, lastUpdated)`."""
        keys = [(i.rtype, i.rid_text) if isinstance(i, _Pending) else (i[0], i[1]) for i in items]
        held = self._held(cur, keys)
        stamp = now_instant()
        stamp_ms = _lu_ms(stamp)
        outcomes: list[WriteOutcome] = []
        # (key, held row or None, vid, lu_text, lu, deleted, body, patient, extracted)
        ops: list[tuple[tuple[str, str], tuple | None, str, str, int, int, bytes, Any, Any]] = []
        for item, key in zip(items, keys, strict=True):
            h = held.get(key)
            if isinstance(item, _Pending):
                vid, lu_text, lu, deleted = item.vid, item.lu_text, item.lu, 0
            else:
                vid, lu_text, deleted = item[2], item[3], 1
                lu = _lu_ms(lu_text) if lu_text else None
            if h is not None:
                h_vid, h_lu_text, h_lu, h_deleted = h[3], h[4], h[5], h[6]
                same = (vid is not None and vid == h_vid) or (
                    vid is None and lu_text is not None and lu_text == h_lu_text
                )
                if same or (deleted and h_deleted and vid is None and lu_text is None):
                    outcomes.append(WriteOutcome.UNCHANGED)
                    continue
                if lu is not None and (lu, _vnum(vid or "0")) < (h_lu, _vnum(h_vid)):
                    outcomes.append(WriteOutcome.STALE)
                    continue
            if vid is None:
                vid = str(_vnum(h[3]) + 1) if h is not None else "1"
            if lu_text is None or lu is None:
                lu_text, lu = stamp, stamp_ms
            if isinstance(item, _Pending):
                ops.append(
                    (
                        key,
                        h,
                        vid,
                        lu_text,
                        lu,
                        0,
                        item.body,
                        patient_compartment(item.res),
                        extract(item.res),
                    )
                )
                outcomes.append(WriteOutcome.UPDATED if h is not None else WriteOutcome.CREATED)
            else:
                ops.append((key, h, vid, lu_text, lu, 1, b"", None, None))
                outcomes.append(WriteOutcome.DELETED)
        if not ops:
            return outcomes
        seqs = self._alloc(cur, "seq", len(ops))
        n_new = sum(1 for op in ops if op[1] is None)
        rids = iter(self._alloc(cur, "rid", n_new) if n_new else [])
        index_rows: dict[str, list[Any]] = {"token": [], "string": [], "date": [], "ref": []}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
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
        if updates:
            old = [(u[-1],) for u in updates]
            cur.executemany(
                "INSERT INTO resource_history (rid, version_id, last_updated, deleted, body)"
                " SELECT rid, version_id, last_updated, deleted, body FROM resource WHERE rid = ?",
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
        return outcomes

    def _write(
        self, cur: Cursor, items: Sequence[_Pending | tuple[str, str, str | None, str | None]]
    ) -> list[WriteOutcome]:
        """`_write_unique` over runs of the batch in which no (type, id) repeats."""
        out: list[WriteOutcome] = []
        run: list[Any] = []
        seen: set[tuple[str, str]] = set()
        for item in items:
            key = (item.rtype, item.rid_text) if isinstance(item, _Pending) else (item[0], item[1])
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

    @abstractmethod
    def _set_checkpoint(self, cur: Cursor, stream: str, value: str) -> None: ...

    # ---- replica writes ----------------------------------------------------------------
    def upsert_many(
        self, bodies: Iterable[bytes], *, checkpoint: tuple[str, str] | None = None
    ) -> list[WriteOutcome]:
        items = [_Pending(bytes(b), parse_body(b)) for b in bodies]
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

    def ingest_ndjson(
        self, stream: Iterable[bytes], *, file: str, source: str = "ingest"
    ) -> IngestReport:
        return ingest_lines(self, stream, file=file, source=source)

    def write_parsed(self, batch: Sequence[tuple[bytes, JSON]]) -> list[WriteOutcome]:
        """Write bodies already parsed and checked (the ingest path: parsed once)."""
        with self._writer() as cur:
            return self._write(cur, [_Pending(b, r) for b, r in batch])

    # ---- authoritative writes ----------------------------------------------------------
    def _authoritative(
        self, resource: JSON, *, if_match: str | None, must_exist: bool
    ) -> StoredResource:
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            raise ValueError("no resourceType")
        res = dict(resource)
        if not isinstance(res.get("id"), str) or not res["id"]:
            res["id"] = str(uuid.uuid4())
        with self._writer() as cur:
            held = self._held(cur, [(rtype, res["id"])]).get((rtype, res["id"]))
            if if_match is not None:
                want = if_match.strip()
                if want.startswith("W/"):
                    want = want[2:]
                want = want.strip('"')
                if held is None or held[6] or held[3] != want:
                    raise VersionConflict(
                        f"{rtype}/{res['id']}: version {want} is not the current version"
                    )
            vid = str(_vnum(held[3]) + 1) if held is not None else "1"
            lu_text = now_instant()
            meta = dict(res.get("meta") or {})
            meta["versionId"] = vid
            meta["lastUpdated"] = lu_text
            res["meta"] = meta
            body = orjson.dumps(res)
            self._write(cur, [_Pending(body, res)])
        return StoredResource(rtype, res["id"], vid, lu_text, False, body)

    def create(self, resource: JSON) -> StoredResource:
        return self._authoritative(resource, if_match=None, must_exist=False)

    def update(self, resource: JSON, *, if_match: str | None = None) -> StoredResource:
        if not isinstance(resource.get("id"), str):
            raise ValueError("update needs an id")
        return self._authoritative(resource, if_match=if_match, must_exist=False)

    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        with self._writer() as cur:
            held = self._held(cur, [(resource_type, id)]).get((resource_type, id))
            if held is None or held[6]:
                return None
            vid = str(_vnum(held[3]) + 1)
            lu_text = now_instant()
            self._write(cur, [(resource_type, id, vid, lu_text)])
        return StoredResource(resource_type, id, vid, lu_text, True, b"")

    # ---- reads -------------------------------------------------------------------------
    def read(self, resource_type: str, id: str) -> StoredResource | None:
        with self._reader() as cur:
            rows = cur.query(
                f"SELECT {_COLS} FROM resource r WHERE r.type = ? AND r.id = ?",
                (resource_type, id),
            )
        return _row(rows[0]) if rows else None

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredResource | None:
        with self._reader() as cur:
            rows = cur.query(
                f"SELECT {_COLS} FROM resource r WHERE r.type = ? AND r.id = ?"
                " AND r.version_id = ?",
                (resource_type, id, version_id),
            )
            if not rows:
                rows = cur.query(
                    "SELECT r.type, r.id, h.version_id, h.last_updated, h.deleted, h.body"
                    " FROM resource r JOIN resource_history h ON h.rid = r.rid"
                    " WHERE r.type = ? AND r.id = ? AND h.version_id = ?",
                    (resource_type, id, version_id),
                )
        return _row(rows[0]) if rows else None

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        with self._reader() as cur:
            cur_rows = cur.query(
                f"SELECT {_COLS}, r.rid FROM resource r WHERE r.type = ? AND r.id = ?",
                (resource_type, id),
            )
            if not cur_rows:
                return []
            old = cur.query(
                "SELECT version_id, last_updated, deleted, body FROM resource_history"
                " WHERE rid = ?",
                (cur_rows[0][6],),
            )
        versions = [_row(cur_rows[0])] + [_row((resource_type, id, *r)) for r in old]
        versions.sort(key=lambda s: (_lu_ms(s.last_updated), _vnum(s.version_id)), reverse=True)
        return versions

    def changes_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        after_seq: int = 0,
    ) -> list[tuple[int, StoredResource]]:
        sql = f"SELECT r.seq, {_COLS} FROM resource r WHERE r.seq > ?"
        args: list[Any] = [after_seq]
        if since:
            sql += " AND r.lu > ?"
            args.append(_lu_ms(since))
        if types:
            sql += f" AND r.type IN ({','.join('?' * len(types))})"
            args.extend(types)
        sql += " ORDER BY r.seq LIMIT ?"
        args.append(limit)
        with self._reader() as cur:
            rows = cur.query(sql, args)
        return [(int(r[0]), _row(r[1:])) for r in rows]

    def last_seq(self) -> int | None:
        with self._reader() as cur:
            return int(cur.query("SELECT coalesce(max(seq), 0) FROM resource")[0][0])

    def change_marks(
        self, after_seq: int, *, limit: int = 10000
    ) -> list[tuple[int, str, str, str | None]] | None:
        with self._reader() as cur:
            rows = cur.query(
                "SELECT seq, type, id, patient_id FROM resource WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

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
        where, args = build_where(resource_type, params, self._pid_read, self._sid_read)
        order, order_args = build_order(resource_type, sort, self._pid_read)
        with self._reader() as cur:
            # rows first, bodies after: only the page's bodies are read
            rids = [
                int(r[0])
                for r in cur.query(
                    f"SELECT r.rid FROM resource r WHERE {where}{order} LIMIT ? OFFSET ?",
                    [*args, *order_args, count, offset],
                )
            ]
            rows = []
            if rids:
                got = {
                    int(r[6]): r
                    for r in cur.query(
                        f"SELECT {_COLS}, r.rid FROM resource r WHERE r.rid IN"
                        f" ({','.join('?' * len(rids))})",
                        rids,
                    )
                }
                rows = [got[rid] for rid in rids]
            n = None
            if total:
                n = int(cur.query(f"SELECT count(*) FROM resource r WHERE {where}", args)[0][0])
        return SearchPage([_row(r) for r in rows], n)

    def compartment(
        self, patient_id: str, types: Sequence[str] | None = None
    ) -> list[StoredResource]:
        sql = f"SELECT {_COLS} FROM resource r WHERE r.patient_id = ?"
        args: list[Any] = [patient_id]
        if types:
            sql += f" AND r.type IN ({','.join('?' * len(types))})"
            args.extend(types)
        with self._reader() as cur:
            rows = cur.query(sql + " AND r.deleted = 0", args)
        return [_row(r) for r in rows]

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        last = -1
        while True:
            with self._reader() as cur:
                rows = cur.query(
                    f"SELECT {_COLS}, r.rid FROM resource r WHERE r.type = ? AND r.rid > ?"
                    " AND r.deleted = 0 ORDER BY r.rid LIMIT ?",
                    (resource_type, last, batch),
                )
            for r in rows:
                yield _row(r)
            if len(rows) < batch:
                return
            last = rows[-1][6]

    def counts_by_type(self) -> dict[str, int]:
        with self._reader() as cur:
            rows = cur.query(
                "SELECT type, count(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type"
            )
        return {r[0]: int(r[1]) for r in rows}

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
        with self._writer() as cur:
            cur.execute(
                "INSERT INTO quarantine (at, source, file, line, resource_type, resource_id,"
                " reason, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (instant(clock.now()), source, file, line, resource_type, resource_id, reason, raw),
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
