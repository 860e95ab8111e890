"""The PostgreSQL write path: a batch of replica writes as a few set-based statements.

The version rules are the store's one definition (`version_rules.decide`, in Python); what
differs from the engine-neutral path (`sql_store.SQLStore._write_unique`) is only how the
rows reach PostgreSQL, because the old lookup made a large load quadratic:

* the held versions of a whole batch are read by one join of the batch's keys (two arrays,
  `unnest`) with `resource`, planned for each batch (`prepare=False`): the generic plan of
  a statement psycopg had prepared, made while the table was small and never analysed,
  walked the `(type, lu)` index over every row of the type and filtered the ids, so every
  batch read the whole type as the table grew;
* new rows go in by binary `COPY` straight into `resource` and the index tables (rids are
  allocated first, so no staging copy is needed): binary, because the text form doubles
  every body (bytea as hex) and the server spent most of a text `COPY` decoding it;
* a batch's updates are three set-based statements over arrays (previous versions into
  `resource_history`, their index rows deleted, the rows updated in place), no temporary
  table (the runtime role needs no TEMP right);
* `resource` is analysed when it has doubled since this store last analysed it, so that the
  readers' plans (and the planner's view of the lookup above) follow a load as it grows.

docs/store.md, "PostgreSQL bulk writes".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from standby.fhir.gate import ReceivedResource
from standby.fhir.search_params import extract, patient_compartment
from standby.store import digest
from standby.store.base import WriteOutcome
from standby.store.version_rules import HELD_COLUMNS, decide, lu_ms

if TYPE_CHECKING:
    from standby.store.postgres import PostgresStore
    from standby.store.sql_store import Tombstone

RESOURCE_COLUMNS = "rid, type, id, version_id, last_updated, lu, seq, deleted, patient_id, body"
RESOURCE_TYPES = ["int8", "text", "text", "text", "text", "int8", "int8", "int4", "text", "bytea"]
# table → (columns, binary COPY types); the order of `_index_rows`' tuples
INDEX_TABLES: dict[str, tuple[str, str, list[str]]] = {
    "token": ("idx_token", "rid, pid, code, sid", ["int8", "int4", "text", "int4"]),
    "string": ("idx_string", "rid, pid, value", ["int8", "int4", "text"]),
    "date": ("idx_date", "rid, pid, lo, hi", ["int8", "int4", "int8", "int8"]),
    "ref": ("idx_ref", "rid, pid, ref_id, ref_type", ["int8", "int4", "text", "text"]),
}

_HELD_SQL = (
    f"SELECT {', '.join('r.' + c.strip() for c in HELD_COLUMNS.split(','))}"
    " FROM unnest(%s::text[], %s::text[]) AS k(type, id)"
    " JOIN resource r ON r.type = k.type AND r.id = k.id"
)
_HISTORY_SQL = (
    "INSERT INTO resource_history (rid, version_id, last_updated, deleted, body, seq, lu)"
    " SELECT rid, version_id, last_updated, deleted, body, seq, lu FROM resource"
    " WHERE rid = ANY(%s::bigint[])"
    # a source that reuses a version id must not stop the write
    " ON CONFLICT (rid, version_id) DO NOTHING"
)
_UPDATE_SQL = (
    "UPDATE resource SET version_id = s.version_id, last_updated = s.last_updated, lu = s.lu,"
    " seq = s.seq, deleted = s.deleted, patient_id = s.patient_id, body = s.body"
    " FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::int[], %s::text[],"
    " %s::bytea[], %s::bigint[])"
    " AS s(version_id, last_updated, lu, seq, deleted, patient_id, body, rid)"
    " WHERE resource.rid = s.rid"
)


def held_versions(
    conn: psycopg.Connection[Any], keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The held row (`version_rules.HELD_COLUMNS`) of each key that is held, in one query."""
    if not keys:
        return {}
    with conn.cursor() as cur:
        cur.execute(_HELD_SQL, ([k[0] for k in keys], [k[1] for k in keys]), prepare=False)
        return {(row[1], row[2]): tuple(row) for row in cur.fetchall()}


def copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: str, types: list[str], rows: list[Any]
) -> None:
    """New rows into `table` by one binary COPY."""
    if not rows:
        return
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as cp,
    ):
        cp.set_types(types)
        for row in rows:
            cp.write_row(row)


def write_unique(
    store: PostgresStore,
    conn: psycopg.Connection[Any],
    items: Sequence[ReceivedResource | Tombstone],
) -> list[WriteOutcome]:
    """Apply the version rules (`version_rules.decide`) to a batch whose (type, id) keys
    are unique, inside the caller's write transaction on `conn`."""
    from standby.store.sql_store import now_instant

    keys = [
        (i.resource_type, i.id) if isinstance(i, ReceivedResource) else (i[0], i[1]) for i in items
    ]
    held = held_versions(conn, keys)
    stamp = now_instant()
    stamp_ms = lu_ms(stamp)
    outcomes: list[WriteOutcome] = []
    ops: list[tuple[tuple[str, str], Any, str, str, int, int, bytes, Any]] = []
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
            ops.append((key, h, vid, lu_text, lu, 0, item.raw, item.json))
        else:
            ops.append((key, h, vid, lu_text, lu, 1, b"", None))
    if not ops:
        return outcomes
    w = store._single_writer.cursor
    seqs = store._alloc(w, "seq", len(ops))
    n_new = sum(1 for op in ops if op[1] is None)
    rids = iter(store._alloc(w, "rid", n_new) if n_new else [])
    updates: list[tuple[Any, ...]] = []
    to_index: list[tuple[str, int, Any]] = []
    written: list[digest.Change] = []
    inserted = 0
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY resource ({RESOURCE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp,
    ):
        cp.set_types(RESOURCE_TYPES)
        # the server inserts the rows (and their five index entries) as they stream in,
        # while this side extracts the search values: one overlaps the other
        for (key, h, vid, lu_text, lu, deleted, body, res), seq in zip(ops, seqs, strict=True):
            patient = None if res is None else patient_compartment(res)
            if h is None:
                rid = next(rids)
                cp.write_row((rid, key[0], key[1], vid, lu_text, lu, seq, deleted, patient, body))
                inserted += 1
            else:
                rid = h[0]
                updates.append((vid, lu_text, lu, seq, deleted, patient, body, rid))
            ex = None if res is None else extract(res)
            if ex is not None:
                to_index.append((key[0], rid, ex))
            written.append((rid, key[0], patient, ex, h is not None))
    if updates:
        _update(conn, updates)
    index_rows: dict[str, list[Any]] = {"token": [], "string": [], "date": [], "ref": []}
    for rtype, rid, ex in to_index:  # may intern new parameters: not inside the COPY
        store._index_rows(w, rtype, rid, ex, index_rows)
    for kind, rows in index_rows.items():
        table, columns, types = INDEX_TABLES[kind]
        copy_rows(conn, table, columns, types, rows)
    digest.keep(w, written)  # in this transaction: it never disagrees with them
    store._grown(conn, inserted)
    return outcomes


def _update(conn: psycopg.Connection[Any], updates: list[tuple[Any, ...]]) -> None:
    """Previous versions to history, their index rows dropped, the rows updated: three
    set-based statements for the whole batch."""
    rids = [u[-1] for u in updates]
    columns = [list(c) for c in zip(*updates, strict=True)]
    with conn.cursor() as cur:
        cur.execute(_HISTORY_SQL, (rids,), prepare=False)
        for table, _, _ in INDEX_TABLES.values():
            cur.execute(
                f"DELETE FROM {table} WHERE rid = ANY(%s::bigint[])", (rids,), prepare=False
            )
        cur.execute(_UPDATE_SQL, columns, prepare=False)
