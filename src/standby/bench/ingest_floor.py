"""The floors an SQLite ingest is measured against, in the same run (`standby bench ingest`).

* bare: parse each line and insert (type, id, body) into a table with no index — what
  reading NDJSON into SQLite costs at all.
* same rows: parse each line and write exactly the rows the replica writes for it — the
  resource row and every index row, into the replica's own schema (its indexes included),
  one `executemany` per table per batch — with every row computed beforehand, outside the
  clock. What the ingest adds on top of it is the replica's own work: the gate, the
  version rules, extraction and building the rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from standby.fhir.search_params import extract, patient_compartment
from standby.store.encryption import connect
from standby.store.sqlite import SQLiteStore
from standby.store.version_rules import lu_ms


def _batches(data: Path, batch: int) -> Iterator[list[bytes]]:
    for path in sorted(data.glob("*.ndjson")):
        rows: list[bytes] = []
        with path.open("rb") as fh:
            for line in fh:
                line = line.rstrip(b"\r\n")
                if not line:
                    continue
                rows.append(line)
                if len(rows) >= batch:
                    yield rows
                    rows = []
        if rows:
            yield rows


def bare_floor(data: Path, db: Path, batch: int = 2000) -> tuple[float, float]:
    """Seconds (wall, CPU) to parse every line and insert (type, id, body) into a bare
    table."""
    conn = connect(db, None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE r (type TEXT, id TEXT, body BLOB)")
    loads = orjson.loads
    seconds = cpu = 0.0
    for lines in _batches(data, batch):
        start, cpu_start = time.perf_counter(), time.process_time()
        rows = []
        for line in lines:
            res = loads(line)
            rows.append((res["resourceType"], res["id"], line))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
        seconds += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    conn.close()
    return seconds, cpu


class _Rows:
    """The rows the replica writes for a batch, computed outside the clock."""

    def __init__(self) -> None:
        self.pids: dict[tuple[str, str], int] = {}
        self.sids: dict[str, int] = {"": 0}
        self.rid = 0

    def _pid(self, rtype: str, name: str) -> int:
        return self.pids.setdefault((rtype, name), len(self.pids) + 1)

    def _sid(self, uri: str) -> int:
        return self.sids.setdefault(uri, len(self.sids))

    def of(self, lines: list[bytes]) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {
            "resource": [],
            "token": [],
            "string": [],
            "date": [],
            "ref": [],
        }
        for line in lines:
            res = orjson.loads(line)
            self.rid += 1
            rid, rtype = self.rid, res["resourceType"]
            meta = res.get("meta") or {}
            lu = meta.get("lastUpdated") or "2026-01-01T00:00:00Z"
            out["resource"].append(
                (
                    rid,
                    rtype,
                    res["id"],
                    meta.get("versionId") or "1",
                    lu,
                    lu_ms(lu),
                    rid,
                    0,
                    patient_compartment(res),
                    line,
                )
            )
            ex = extract(res)
            p = self._pid
            out["token"] += [(rid, p(rtype, n), c, self._sid(s)) for n, s, c in ex.token]
            out["string"] += [(rid, p(rtype, n), v) for n, v in ex.string]
            out["date"] += [(rid, p(rtype, n), lo, hi) for n, lo, hi in ex.date]
            out["ref"] += [(rid, p(rtype, n), i, t) for n, t, i in ex.reference]
        return out


_INSERTS = {
    "resource": "INSERT INTO resource (rid, type, id, version_id, last_updated, lu, seq,"
    " deleted, patient_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "token": "INSERT INTO idx_token (rid, pid, code, sid) VALUES (?, ?, ?, ?)",
    "string": "INSERT INTO idx_string (rid, pid, value) VALUES (?, ?, ?)",
    "date": "INSERT INTO idx_date (rid, pid, lo, hi) VALUES (?, ?, ?, ?)",
    "ref": "INSERT INTO idx_ref (rid, pid, ref_id, ref_type) VALUES (?, ?, ?, ?)",
}


def same_rows_floor(data: Path, db: Path, batch: int = 2000) -> tuple[float, float]:
    """Seconds (wall, CPU) to parse every line and write the replica's rows for it (see
    module doc)."""
    SQLiteStore(db).close()  # the replica's schema, indexes included
    conn = connect(db, None)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-32000")
    conn.isolation_level = None
    rows = _Rows()
    loads = orjson.loads
    seconds = cpu = 0.0
    for lines in _batches(data, batch):
        todo = rows.of(lines)
        start, cpu_start = time.perf_counter(), time.process_time()
        for line in lines:
            loads(line)
        conn.execute("BEGIN IMMEDIATE")
        for table, sql in _INSERTS.items():
            if todo[table]:
                conn.executemany(sql, todo[table])
        conn.execute("COMMIT")
        seconds += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    conn.close()
    return seconds, cpu
