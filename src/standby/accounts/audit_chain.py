"""The audit log's hash chain: every line carries the hash of the line before it, so that
changing, deleting or inserting a line breaks the chain at that line
(docs/security.md#the-audit-log).

The canonical form of a line, what its hash covers, is the UTF-8 JSON array (no spaces,
non-ASCII characters as themselves, `null` for no patient)

    [id, at, username, role, action, patient_id, page, address, detail]

and its hash is `sha256(prev_hash + "\\n" + canonical)` in lowercase hex, where `prev_hash`
is the hash of the line before it. The chain starts from `GENESIS` (64 zeros), or, after an
archive, from the hash of the last archived line. Where it starts is the newest record of
`web_audit_chain` (`ChainStart`): the migration that introduced the chain wrote the first
(kind `start`: the lines already in the log were chained from `GENESIS` by the migration),
each archive writes one more (kind `archive`).

Appending is serialised: on SQLite the write transaction already holds the database's
write lock (`BEGIN IMMEDIATE`); on PostgreSQL the append takes a transaction-level advisory
lock of the audit table first, so writers in other processes queue and never fork the chain.
Ids are given by the chain (the last one plus one), so a line's id is part of what is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from standby.accounts.records import AuditEvent
from standby.clock import instant, now
from standby.store.base import Store, Transaction

GENESIS = "0" * 64
COLUMNS = "id, at, username, role, action, patient_id, page, address, detail"
_ROW_COLS = f"{COLUMNS}, prev_hash, hash"


def canonical(row_id: int, e: AuditEvent) -> bytes:
    """What a line's hash covers (module docstring)."""
    fields = [row_id, e.at, e.username, e.role, e.action, e.patient_id, e.page, e.address]
    fields.append(e.detail)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(prev_hash: str, row_id: int, e: AuditEvent) -> str:
    """The hash of line `row_id` that follows the line whose hash is `prev_hash`."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(row_id, e)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainedRow:
    id: int
    event: AuditEvent
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True, slots=True)
class ChainStart:
    """Where the chain held in the database starts: after line `last_id` (0: the beginning),
    whose hash is `last_hash`; `kind` is `start` or `archive` (then `file` names it)."""

    seq: int
    kind: str
    at: str
    last_id: int
    last_hash: str
    line_count: int  # lines chained by the migration, or archived
    file: str | None
    first_at: str | None
    last_at: str | None
    mac: str | None = None  # HMAC of an archive record with the audit key (`record_mac`)


def _row(r: Sequence[Any]) -> ChainedRow:
    event = AuditEvent(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[0]))
    return ChainedRow(int(r[0]), event, r[9], r[10])


_START_COLS = "seq, kind, at, last_id, last_hash, line_count, file, first_at, last_at, mac"


def chain_start(tx: Transaction) -> ChainStart | None:
    rows = tx.query(f"SELECT {_START_COLS} FROM web_audit_chain ORDER BY seq DESC LIMIT 1")
    if not rows:
        return None
    return _start(rows[0])


def chain_records(tx: Transaction) -> list[ChainStart]:
    """Every start and archive record, oldest first."""
    return [_start(r) for r in tx.query(f"SELECT {_START_COLS} FROM web_audit_chain ORDER BY seq")]


def _start(r: Sequence[Any]) -> ChainStart:
    return ChainStart(int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[5]), r[6], r[7], r[8], r[9])


def record_mac(
    key: bytes,
    kind: str,
    at: str,
    last_id: int,
    last_hash: str,
    line_count: int,
    file: str | None,
    first_at: str | None,
    last_at: str | None,
) -> str:
    """The signature of an archive record: HMAC-SHA256, with the audit key, of the JSON array
    of its fields (as `canonical`). Without the key a record cannot be forged to let the
    database delete lines no archive holds."""
    fields = [kind, at, last_id, last_hash, line_count, file, first_at, last_at]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def head(tx: Transaction) -> tuple[int, str]:
    """(id, hash) of the last line of the chain (that of its start when the log is empty)."""
    rows = tx.query("SELECT id, hash FROM web_audit ORDER BY id DESC LIMIT 1")
    if rows and rows[0][1] is not None:
        return int(rows[0][0]), str(rows[0][1])
    start = chain_start(tx)
    if start is None:
        return (int(rows[0][0]) if rows else 0), GENESIS
    return max(start.last_id, int(rows[0][0]) if rows else 0), start.last_hash


def lock(tx: Transaction, engine: str) -> None:
    """Queue behind any other writer of the audit (PostgreSQL; SQLite's write transaction
    is already exclusive)."""
    if engine == "postgres":
        tx.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.web_audit'))")


def append_in(tx: Transaction, engine: str, events: Sequence[AuditEvent]) -> None:
    """Append `events` to the chain inside the caller's write transaction."""
    if not events:
        return
    lock(tx, engine)
    last_id, prev = head(tx)
    for e in events:
        last_id += 1
        h = link(prev, last_id, e)
        tx.execute(
            f"INSERT INTO web_audit ({_ROW_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                last_id,
                e.at,
                e.username,
                e.role,
                e.action,
                e.patient_id,
                e.page,
                e.address,
                e.detail,
                prev,
                h,
            ),
        )
        prev = h


def rows_after(store: Store, after: int, *, batch: int = 2000) -> Iterator[ChainedRow]:
    """Every line with an id above `after`, in id order, read in batches."""
    while True:
        with store.read_transaction() as tx:
            rows = [
                _row(r)
                for r in tx.query(
                    f"SELECT {_ROW_COLS} FROM web_audit WHERE id > ? ORDER BY id LIMIT ?",
                    (after, batch),
                )
            ]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


# ---- the migration that starts the chain --------------------------------------------------
def start_chain(tx: Transaction, engine: str) -> None:
    """Once per database, inside the migration's transaction: chain the lines already in the
    log from `GENESIS`, in id order, and record the start. The guard against UPDATE is lifted
    for this one transaction, as migration 15 did."""
    if tx.query("SELECT 1 FROM web_audit_chain LIMIT 1"):
        return
    rows = [
        _row(r)
        for r in tx.query(f"SELECT {_ROW_COLS} FROM web_audit WHERE hash IS NULL ORDER BY id")
    ]
    if rows:
        if engine == "postgres":
            tx.execute("ALTER TABLE web_audit DISABLE TRIGGER web_audit_no_change")
        else:
            tx.execute("DROP TRIGGER web_audit_no_update")
        prev = GENESIS
        for r in rows:
            h = link(prev, r.id, r.event)
            tx.execute("UPDATE web_audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, r.id))
            prev = h
        if engine == "postgres":
            tx.execute("ALTER TABLE web_audit ENABLE TRIGGER web_audit_no_change")
        else:
            tx.execute(NO_UPDATE_TRIGGER)
    tx.execute(
        "INSERT INTO web_audit_chain (kind, at, last_id, last_hash, line_count, file, first_at,"
        " last_at) VALUES ('start', ?, 0, ?, ?, NULL, ?, ?)",
        (
            instant(now()),
            GENESIS,
            len(rows),
            rows[0].event.at if rows else None,
            rows[-1].event.at if rows else None,
        ),
    )


NO_UPDATE_TRIGGER = (
    "CREATE TRIGGER web_audit_no_update BEFORE UPDATE ON web_audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
)
