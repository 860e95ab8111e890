"""The read side of the SQL store: reads, history, changes, search over the index tables,
compartments (docs/store.md). `SQLStore` inherits it; the engines supply the snapshot
(`_reader`) and the interned parameter and system ids.

FHIR search: https://hl7.org/fhir/R4/search.html
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store.base import SearchPage, Store, StoredResource
from standby.store.connections import Cursor
from standby.store.search_sql import build_order, build_where
from standby.store.version_rules import lu_ms, newest_first

COLUMNS = "r.type, r.id, r.version_id, r.last_updated, r.deleted, r.body"


def stored(row: Sequence[Any]) -> StoredResource:
    """A `StoredResource` from a row of `COLUMNS`."""
    b = row[5]
    return StoredResource(
        row[0], row[1], row[2], row[3], row[4] == 1, b if type(b) is bytes else bytes(b)
    )


#: At most this many versions changed since `_since` are looked up by their `lu` index;
#: more, and the history is read newest first along `seq` (the page fills quickly then).
RECENT_LIMIT = 5000


def _changed_since(cur: Cursor, since_ms: int, types: Sequence[str] | None) -> list[int] | None:
    """The change sequences of every version (current or previous) of `types` whose
    lastUpdated is at or after `since_ms`, by the `(type, lu)` and `resource_history (lu)`
    indexes; None when there are more than `RECENT_LIMIT`."""
    kinds = list(types or RESOURCE_TYPES)
    current = cur.query(
        f"SELECT r.seq FROM resource r WHERE r.type IN ({','.join('?' * len(kinds))})"
        " AND r.lu >= ? LIMIT ?",
        [*kinds, since_ms, RECENT_LIMIT + 1],
    )
    previous = cur.query(
        "SELECT h.seq, r.type FROM resource_history h JOIN resource r ON r.rid = h.rid"
        " WHERE h.lu >= ? LIMIT ?",
        (since_ms, RECENT_LIMIT + 1),
    )
    if len(current) + len(previous) > RECENT_LIMIT:
        return None
    return [int(r[0]) for r in current] + [
        int(q) for q, rtype in previous if q is not None and (not types or rtype in types)
    ]


class SQLReads(Store):
    """`Store`'s reads over SQL."""

    @abstractmethod
    def _reader(self) -> AbstractContextManager[Cursor]:
        """A read-only snapshot."""

    @abstractmethod
    def _pid_read(self, rtype: str, name: str) -> int | None:
        """The interned id of a search parameter (None: never indexed)."""

    @abstractmethod
    def _sid_read(self, uri: str) -> int | None:
        """The interned id of a token system (None: never indexed)."""

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        with self._reader() as cur:
            rows = cur.query(
                f"SELECT {COLUMNS} FROM resource r WHERE r.type = ? AND r.id = ?",
                (resource_type, id),
            )
        return stored(rows[0]) if rows else None

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredResource | None:
        with self._reader() as cur:
            rows = cur.query(
                f"SELECT {COLUMNS} FROM resource r WHERE r.type = ? AND r.id = ?"
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
        return stored(rows[0]) if rows else None

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        with self._reader() as cur:
            cur_rows = cur.query(
                f"SELECT {COLUMNS}, r.rid FROM resource r WHERE r.type = ? AND r.id = ?",
                (resource_type, id),
            )
            if not cur_rows:
                return []
            old = cur.query(
                "SELECT version_id, last_updated, deleted, body FROM resource_history"
                " WHERE rid = ?",
                (cur_rows[0][6],),
            )
        versions = [stored(cur_rows[0])] + [stored((resource_type, id, *r)) for r in old]
        return newest_first(versions)

    def changes_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        after_seq: int = 0,
    ) -> list[tuple[int, StoredResource]]:
        sql = f"SELECT r.seq, {COLUMNS} FROM resource r WHERE r.seq > ?"
        args: list[Any] = [after_seq]
        if since:
            sql += " AND r.lu > ?"
            args.append(lu_ms(since))
        if types:
            sql += f" AND r.type IN ({','.join('?' * len(types))})"
            args.extend(types)
        sql += " ORDER BY r.seq LIMIT ?"
        args.append(limit)
        with self._reader() as cur:
            rows = cur.query(sql, args)
        return [(int(r[0]), stored(r[1:])) for r in rows]

    def versions_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        before_seq: int | None = None,
    ) -> list[tuple[int, StoredResource]]:
        # the same conditions on the current versions and on the previous ones, each part
        # read newest first along its `seq` index, merged; when few versions changed since
        # `since`, exactly those, found by their `lu` indexes (a `seq` scan would read
        # every version older than `since` before it knows there are no more)
        cond = ""
        args: list[Any] = []
        if before_seq is not None:
            cond += " AND {t}.seq < ?"
            args.append(before_seq)
        if since:
            cond += " AND {t}.lu >= ?"
            args.append(lu_ms(since))
        if types:
            cond += f" AND r.type IN ({','.join('?' * len(types))})"
            args.extend(types)
        current = f"SELECT r.seq, {COLUMNS} FROM resource r WHERE 1 = 1"
        previous = (
            "SELECT h.seq, r.type, r.id, h.version_id, h.last_updated, h.deleted, h.body"
            " FROM resource_history h JOIN resource r ON r.rid = h.rid WHERE h.seq IS NOT NULL"
        )
        with self._reader() as cur:
            recent = _changed_since(cur, lu_ms(since), types) if since else None
            if recent is not None:
                want = sorted(q for q in recent if before_seq is None or q < before_seq)
                want = want[::-1][:limit]
                if not want:
                    return []
                # by `seq` alone: a condition on the type would have the planner start
                # from every resource of the type (`want` holds only `types`)
                marks = ",".join("?" * len(want))
                rows = cur.query(f"{current} AND r.seq IN ({marks})", want)
                rows += cur.query(f"{previous} AND h.seq IN ({marks})", want)
            else:
                rows = cur.query(
                    f"{current}{cond.format(t='r')} ORDER BY r.seq DESC LIMIT ?", [*args, limit]
                )
                rows += cur.query(
                    f"{previous}{cond.format(t='h')} ORDER BY h.seq DESC LIMIT ?",
                    [*args, limit],
                )
        rows.sort(key=lambda r: -int(r[0]))
        return [(int(r[0]), stored(r[1:])) for r in rows[:limit]]

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
            rows = _by_rid(cur, rids)
            n = None
            if total:
                n = int(cur.query(f"SELECT count(*) FROM resource r WHERE {where}", args)[0][0])
        return SearchPage([stored(r) for r in rows], n)

    def search_ids(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        sort: Sequence[str] = (),
        limit: int = 1000,
        bodies: int = 0,
    ) -> tuple[list[str], list[StoredResource]]:
        where, args = build_where(resource_type, params, self._pid_read, self._sid_read)
        order, order_args = build_order(resource_type, sort, self._pid_read)
        with self._reader() as cur:
            keys = cur.query(
                f"SELECT r.rid, r.id FROM resource r WHERE {where}{order} LIMIT ?",
                [*args, *order_args, limit],
            )
            rows = _by_rid(cur, [int(k[0]) for k in keys[:bodies]])
        return [str(k[1]) for k in keys], [stored(r) for r in rows]

    def ids_by_token(
        self, resource_type: str, param: str, pairs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """(system, code) -> the id of the current resource of this type whose token
        parameter `param` has that exact value; of several, the first by row, as the
        search `param=system|code` gives it. From the index alone: what the feed writer
        asks for every message's patient, visit and order (a search read and parsed
        every matching body: ~16x the time)."""
        pid = self._pid_read(resource_type, param)
        if pid is None or not pairs:
            return {}
        want: dict[tuple[str, int], tuple[str, str]] = {}
        for system, code in pairs:
            sid = self._sid_read(system)
            if sid is not None:
                want[(code, sid)] = (system, code)
        codes = sorted({code for code, _ in want})
        rows: list[tuple[Any, ...]] = []
        with self._reader() as cur:
            for k in range(0, len(codes), 500):
                chunk = codes[k : k + 500]
                rows.extend(
                    cur.query(
                        "SELECT r.rid, t.code, t.sid, r.id FROM idx_token t"
                        " JOIN resource r ON r.rid = t.rid WHERE t.pid = ?"
                        f" AND t.code IN ({','.join('?' * len(chunk))})"
                        " AND r.type = ? AND r.deleted = 0",
                        [pid, *chunk, resource_type],
                    )
                )
        found: dict[tuple[str, str], str] = {}
        for _, code, sid, rid in sorted(rows, key=lambda r: int(r[0])):
            pair = want.get((code, int(sid)))
            if pair is not None and pair not in found:
                found[pair] = str(rid)
        return found

    def compartment(
        self, patient_id: str, types: Sequence[str] | None = None
    ) -> list[StoredResource]:
        sql = f"SELECT {COLUMNS} FROM resource r WHERE r.patient_id = ?"
        args: list[Any] = [patient_id]
        if types:
            sql += f" AND r.type IN ({','.join('?' * len(types))})"
            args.extend(types)
        with self._reader() as cur:
            rows = cur.query(sql + " AND r.deleted = 0", args)
        return [stored(r) for r in rows]

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        last = -1
        while True:
            with self._reader() as cur:
                rows = cur.query(
                    f"SELECT {COLUMNS}, r.rid FROM resource r WHERE r.type = ? AND r.rid > ?"
                    " AND r.deleted = 0 ORDER BY r.rid LIMIT ?",
                    (resource_type, last, batch),
                )
            for r in rows:
                yield stored(r)
            if len(rows) < batch:
                return
            last = rows[-1][6]

    def counts_by_type(self) -> dict[str, int]:
        with self._reader() as cur:
            rows = cur.query(
                "SELECT type, count(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type"
            )
        return {r[0]: int(r[1]) for r in rows}

    def held_types(self) -> frozenset[str]:
        # each distinct type by one seek of the (type, id) index, then one current row of
        # each: counting every resource read the whole table (17 s at 1M on a busy
        # machine), and the viewer's directory asks every minute
        with self._reader() as cur:
            types = cur.query(
                "WITH RECURSIVE t(type) AS (SELECT min(type) FROM resource UNION ALL"
                " SELECT (SELECT min(r.type) FROM resource r WHERE r.type > t.type) FROM t"
                " WHERE t.type IS NOT NULL) SELECT type FROM t WHERE type IS NOT NULL"
            )
            held = [
                str(rt)
                for (rt,) in types
                if cur.query("SELECT 1 FROM resource WHERE type = ? AND deleted = 0 LIMIT 1", (rt,))
            ]
        return frozenset(held)


def _by_rid(cur: Cursor, rids: list[int]) -> list[tuple[Any, ...]]:
    """The rows (`COLUMNS`) of `rids`, in that order."""
    if not rids:
        return []
    got = {
        int(r[6]): r
        for r in cur.query(
            f"SELECT {COLUMNS}, r.rid FROM resource r WHERE r.rid IN ({','.join('?' * len(rids))})",
            rids,
        )
    }
    return [got[rid] for rid in rids]
