"""Index rows for the resources held, when the search registry comes to index more of them:
a data migration (`Migration.data`) that adds the rows `extract` gives now and a replica
written by an older version lacks (docs/store.md#migrations).

Store migration 5: DocumentReference's `identifier` is `masterIdentifier | identifier`
(https://hl7.org/fhir/R4/documentreference.html#search); before it only `identifier` was
indexed, so a note that FHIR sync brought with its number in `masterIdentifier` was found
neither by `identifier=system|value` nor by the HL7 feed looking for what it already holds.
"""

from __future__ import annotations

from collections.abc import Callable

from standby.fhir import tolerant_json
from standby.fhir.search_params import extract
from standby.store.base import Transaction

CHUNK = 1000  # resources read at a time (a note's body carries its text)


def token_rows(resource_type: str, param: str, element: str) -> Callable[[Transaction], None]:
    """A data migration: the token rows of `param` for every current resource of the type
    whose body has `element`, added where missing (rows already there are kept)."""
    marker = f'"{element}"'.encode()

    def add(db: Transaction) -> None:
        pid: int | None = None
        sids: dict[str, int] = {}
        last = -1
        while True:
            rows = db.query(
                "SELECT rid, body FROM resource WHERE type = ? AND deleted = 0 AND rid > ?"
                " ORDER BY rid LIMIT ?",
                (resource_type, last, CHUNK),
            )
            for rid, body in rows:
                raw = bytes(body)
                if marker not in raw:  # most bodies: not parsed
                    continue
                tokens = [
                    (s, c) for n, s, c in extract(tolerant_json.loads(raw)).token if n == param
                ]
                if tokens and pid is None:
                    pid = _interned(
                        db,
                        "search_param",
                        "pid",
                        "type = ? AND name = ?",
                        "(type, name) VALUES (?, ?)",
                        (resource_type, param),
                    )
                for system, code in tokens:
                    sid = sids.get(system)
                    if sid is None:
                        sid = sids[system] = (
                            0
                            if not system
                            else _interned(
                                db, "token_system", "sid", "uri = ?", "(uri) VALUES (?)", (system,)
                            )
                        )
                    db.execute(
                        "INSERT INTO idx_token (rid, pid, code, sid) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        (int(rid), pid, code, sid),
                    )
            if len(rows) < CHUNK:
                return
            last = int(rows[-1][0])

    return add


def _interned(
    db: Transaction, table: str, key: str, where: str, insert: str, values: tuple[str, ...]
) -> int:
    """The small integer a name is interned as (`search_param`, `token_system`), added when
    new (as `SQLStore._pid_write` and `_sid_write` do)."""
    sql = f"SELECT {key} FROM {table} WHERE {where}"
    rows = db.query(sql, values)
    if not rows:
        db.execute(f"INSERT INTO {table} {insert}", values)
        rows = db.query(sql, values)
    return int(rows[0][0])
