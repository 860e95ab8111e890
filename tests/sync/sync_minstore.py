"""A minimal SQLite engine of the Store interface, only for the sync tests while the real
engine (standby.store.sqlite) is being built; `replica(path)` prefers the real one."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from standby.store.base import (
    Migration,
    QuarantineItem,
    Store,
    StoredResource,
    Transaction,
    WriteOutcome,
)


def replica(path: Path) -> Store:
    try:
        from standby.store import open_store

        return open_store(db=path)
    except ImportError:
        return MiniStore(path)


class _Tx(Transaction):
    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.con.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, tuple(params)).fetchall()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MiniStore(Store):
    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self.con.executescript(
            """
            CREATE TABLE IF NOT EXISTS r (t TEXT, id TEXT, v TEXT, lu TEXT, d INT, body BLOB,
              PRIMARY KEY (t, id));
            CREATE TABLE IF NOT EXISTS h (t TEXT, id TEXT, v TEXT, lu TEXT, d INT, body BLOB);
            CREATE TABLE IF NOT EXISTS cp (s TEXT PRIMARY KEY, v TEXT);
            CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY, at TEXT, source TEXT,
              file TEXT, line INT, rt TEXT, rid TEXT, reason TEXT, raw BLOB);
            CREATE TABLE IF NOT EXISTS mig (ns TEXT, v INT);
            """
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.lock:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self.con)
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def read_transaction(self) -> Any:
        return self.transaction()

    def _put(self, tx: _Tx, body: bytes) -> WriteOutcome:
        r = orjson.loads(body)
        if not isinstance(r, dict) or not r.get("resourceType") or not r.get("id"):
            raise ValueError("not a resource")
        meta = r.get("meta") or {}
        v, lu = str(meta.get("versionId", "1")), str(meta.get("lastUpdated", _now()))
        old = tx.query("SELECT v, lu FROM r WHERE t = ? AND id = ?", (r["resourceType"], r["id"]))
        if old:
            if old[0][0] == v:
                return WriteOutcome.UNCHANGED
            if (old[0][1], int(old[0][0]) if old[0][0].isdigit() else 0) > (
                lu,
                int(v) if v.isdigit() else 0,
            ):
                return WriteOutcome.STALE
            tx.execute(
                "INSERT INTO h SELECT * FROM r WHERE t = ? AND id = ?", (r["resourceType"], r["id"])
            )
        tx.execute(
            "INSERT OR REPLACE INTO r VALUES (?, ?, ?, ?, 0, ?)",
            (r["resourceType"], r["id"], v, lu, body),
        )
        return WriteOutcome.UPDATED if old else WriteOutcome.CREATED

    def upsert_many(self, bodies: Iterable[bytes], *, checkpoint: Any = None) -> list[WriteOutcome]:
        with self.transaction() as tx:
            out = [self._put(tx, b) for b in bodies]  # type: ignore[arg-type]
            if checkpoint:
                tx.execute("INSERT OR REPLACE INTO cp VALUES (?, ?)", checkpoint)
        return out

    def tombstone(
        self,
        resource_type: str,
        id: str,
        *,
        version_id: Any = None,
        last_updated: Any = None,
        checkpoint: Any = None,
    ) -> WriteOutcome:
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO r VALUES (?, ?, ?, ?, 1, ?)",
                (resource_type, id, version_id or "deleted", last_updated or _now(), b""),
            )
            if checkpoint:
                tx.execute("INSERT OR REPLACE INTO cp VALUES (?, ?)", checkpoint)
        return WriteOutcome.DELETED

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        with self.lock:
            row = self.con.execute(
                "SELECT t, id, v, lu, d, body FROM r WHERE t = ? AND id = ?", (resource_type, id)
            ).fetchone()
        return (
            None
            if row is None
            else StoredResource(row[0], row[1], row[2], row[3], bool(row[4]), row[5])
        )

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        with self.lock:
            rows = self.con.execute(
                "SELECT t, id, v, lu, d, body FROM h WHERE t = ? AND id = ?", (resource_type, id)
            ).fetchall()
        cur = self.read(resource_type, id)
        return ([cur] if cur else []) + [
            StoredResource(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows
        ]

    def counts_by_type(self) -> dict[str, int]:
        with self.lock:
            return dict(
                self.con.execute("SELECT t, COUNT(*) FROM r WHERE d = 0 GROUP BY t").fetchall()
            )

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        with self.lock:
            rows = self.con.execute(
                "SELECT t, id, v, lu, d, body FROM r WHERE t = ? AND d = 0", (resource_type,)
            ).fetchall()
        for r in rows:
            yield StoredResource(r[0], r[1], r[2], r[3], bool(r[4]), r[5])

    def quarantine(
        self,
        *,
        source: str,
        reason: str,
        raw: bytes,
        file: Any = None,
        line: Any = None,
        resource_type: Any = None,
        resource_id: Any = None,
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO q (at, source, file, line, rt, rid, reason, raw)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (_now(), source, file, line, resource_type, resource_id, reason, raw),
            )

    def quarantined(self, *, since: str | None = None, limit: int = 100) -> list[QuarantineItem]:
        with self.lock:
            rows = self.con.execute(
                "SELECT id, at, source, file, line, rt, rid, reason, raw FROM q WHERE at >= ?"
                " ORDER BY id DESC LIMIT ?",
                (since or "", limit),
            ).fetchall()
        return [
            QuarantineItem(*r[:8], excerpt=bytes(r[8][:200]).decode(errors="replace")) for r in rows
        ]

    def get_checkpoint(self, stream: str) -> str | None:
        with self.lock:
            row = self.con.execute("SELECT v FROM cp WHERE s = ?", (stream,)).fetchone()
        return None if row is None else row[0]

    def set_checkpoint(self, stream: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO cp VALUES (?, ?)", (stream, value))

    def ensure_schema(self, namespace: str, migrations: Sequence[Migration]) -> None:
        with self.transaction() as tx:
            done = {v for (v,) in tx.query("SELECT v FROM mig WHERE ns = ?", (namespace,))}
            for m in migrations:
                if m.version not in done:
                    tx.execute(m.sqlite)
                    tx.execute("INSERT INTO mig VALUES (?, ?)", (namespace, m.version))

    def close(self) -> None:
        self.con.close()

    def ingest_ndjson(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def create(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def update(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def delete(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def vread(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def changes_since(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def search(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError

    def compartment(self, *a: Any, **k: Any) -> Any:
        raise NotImplementedError
