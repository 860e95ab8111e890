"""The journal's storage: append entries durably, read them back (docs/journal.md#storage).

`append` writes in one durable transaction (`Store.durable_transaction`: SQLite
`synchronous=FULL`, a PostgreSQL commit): when it returns, the entries survive a killed
process or a power cut, and only then may the clinician's screen say "saved". Each row
holds, beside the entry, its FHIR resources as the read model shows them
(`journal.converted`), written in the same transaction.
`JournalWriter` does the same for many clinicians at once: concurrent entries share one
commit (group commit), and each caller returns once its own entry is on disk.

Appending is idempotent on the entry's UUID: a form sent twice (a lost response, a
double tap) is stored once, and `append` says which entries were already there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from standby.clock import instant, parse_instant
from standby.journal import converted, schema
from standby.journal.entries import Capture, Entry, Kind
from standby.store.base import Store
from standby.store.group_commit import GroupCommit

COLUMNS = (
    "id, kind, patient_id, encounter_id, author, author_name, role, performed_at,"
    " recorded_at, node, capture, transcribed_by, corrects, drill, payload"
)
# what a new row holds besides `COLUMNS`: the entry's resources as the read model shows
# them, made in the same transaction (`journal.converted`), and the mapping's version
WRITTEN = COLUMNS + ", mapping, resources"
INSERT = f"INSERT INTO journal_entries ({WRITTEN}) VALUES ({', '.join('?' * 17)})"


@dataclass(frozen=True, slots=True)
class Appended:
    stored: list[str]  # ids written now
    already: list[str]  # ids that were in the journal before (sent twice)


def as_row(e: Entry) -> tuple[Any, ...]:
    return (
        e.id,
        e.kind.value,
        e.patient_id,
        e.encounter_id,
        e.author,
        e.author_name,
        e.role,
        instant(e.performed_at),
        instant(e.recorded_at),
        e.node,
        e.capture.value,
        e.transcribed_by,
        e.corrects,
        1 if e.drill else 0,
        orjson.dumps(dict(e.payload)).decode(),
    )


def written_row(e: Entry) -> tuple[Any, ...]:
    """The row `append` writes (`WRITTEN`): the entry and its stored conversion."""
    text = converted.stored_form(e)
    return (*as_row(e), None if text is None else converted.MAPPING, text)


_KINDS = {k.value: k for k in Kind}
_CAPTURES = {c.value: c for c in Capture}


def stored_instant(text: str) -> datetime:
    """`parse_instant`, three times faster for the stored form every row holds (a first
    view reads thousands of rows: the census reads every admission, transfer, discharge,
    registration and strike of the journal)."""
    if len(text) == 27 and text[10] == "T" and text[-1] == "Z":
        return datetime.fromisoformat(text)  # UTC, as parse_instant gives it
    return parse_instant(text)


def entry_of(r: Sequence[Any]) -> Entry:
    """The entry of a row of `COLUMNS`."""
    return Entry(
        id=r[0],
        kind=_KINDS.get(r[1]) or Kind(r[1]),
        patient_id=r[2],
        encounter_id=r[3],
        author=r[4],
        author_name=r[5],
        role=r[6],
        performed_at=stored_instant(r[7]),
        recorded_at=stored_instant(r[8]),
        node=r[9],
        capture=_CAPTURES.get(r[10]) or Capture(r[10]),
        transcribed_by=r[11],
        corrects=r[12],
        drill=bool(r[13]),
        payload=orjson.loads(r[14]),
    )


def append(store: Store, entries: Sequence[Entry]) -> Appended:
    """Write `entries` in one durable transaction (all or none); an entry whose id is
    already in the journal is not written again."""
    schema.ensure(store)
    stored: list[str] = []
    already: list[str] = []
    written: list[Entry] = []
    with store.durable_transaction() as db:
        for e in entries:
            if e.id in stored or db.query("SELECT 1 FROM journal_entries WHERE id = ?", (e.id,)):
                already.append(e.id)
                continue
            db.execute(INSERT, written_row(e))
            stored.append(e.id)
            written.append(e)
        # where the journal puts each patient, kept in the same transaction
        from standby.journal.adt import keep_placements

        keep_placements(db, written)
    return Appended(stored, already)


class JournalWriter:
    """Durable appends from many threads (the viewer's clinicians), sharing commits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        schema.ensure(store)
        self._group: GroupCommit[Entry] = GroupCommit(lambda batch: self._flush(batch))

    def _flush(self, batch: list[Entry]) -> None:
        append(self.store, batch)

    def submit(self, entry: Entry) -> None:
        """Returns once `entry` is on disk (or was already); raises if it could not be."""
        self._group.submit([entry])

    @property
    def commits(self) -> int:
        return self._group.batches


def read(store: Store, entry_id: str) -> Entry | None:
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(f"SELECT {COLUMNS} FROM journal_entries WHERE id = ?", (entry_id,))
    return entry_of(rows[0]) if rows else None


def for_patient(store: Store, patient_id: str, *, drill: bool | None = None) -> list[Entry]:
    """Every entry on a patient, in the order they were written (strikes and corrections
    included: `in_effect` says what stands)."""
    schema.ensure(store)
    sql = f"SELECT {COLUMNS} FROM journal_entries WHERE patient_id = ?"
    params: list[Any] = [patient_id]
    if drill is not None:
        sql += " AND drill = ?"
        params.append(1 if drill else 0)
    with store.read_transaction() as db:
        return [entry_of(r) for r in db.query(sql + " ORDER BY seq", params)]


def since(store: Store, after_seq: int = 0, *, limit: int = 1000) -> list[tuple[int, Entry]]:
    """Entries written after `after_seq`, oldest first, with their sequence numbers (for
    the read model's cache, back-entry and reports)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
    return [(int(r[0]), entry_of(r[1:])) for r in rows]


def last_seq(store: Store) -> int:
    """The sequence number of the newest entry (0 when there is none)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        return int(db.query("SELECT coalesce(max(seq), 0) FROM journal_entries")[0][0])


def patients_since(store: Store, after_seq: int) -> tuple[int, set[str]]:
    """The newest sequence number and the patients of the entries written after
    `after_seq` (what a cache of summaries must drop)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            "SELECT seq, patient_id FROM journal_entries WHERE seq > ? ORDER BY seq", (after_seq,)
        )
    if not rows:
        return after_seq, set()
    return int(rows[-1][0]), {str(r[1]) for r in rows}


def first_recorded(
    store: Store, since: datetime, until: datetime | None, *, drill: bool
) -> dict[str, datetime]:
    """Each patient's first entry recorded in [since, until) (until None: open), drill
    entries or real ones: when documentation of a downtime began, per patient."""
    schema.ensure(store)
    sql = (
        "SELECT patient_id, min(recorded_at) FROM journal_entries"
        " WHERE drill = ? AND recorded_at >= ?"
    )
    params: list[Any] = [1 if drill else 0, instant(since)]
    if until is not None:
        sql += " AND recorded_at < ?"
        params.append(instant(until))
    with store.read_transaction() as db:
        rows = db.query(sql + " GROUP BY patient_id", params)
    return {str(r[0]): parse_instant(str(r[1])) for r in rows}


def in_effect(entries: Iterable[Entry]) -> list[Entry]:
    """What stands: struck entries removed, a corrected entry replaced by its newest
    correction (in the place of the original), strikes themselves not shown."""
    entries = list(entries)
    struck = {e.corrects for e in entries if e.kind is Kind.STRIKE and e.corrects}
    newest: dict[str, Entry] = {}  # original id → its newest correction
    root: dict[str, str] = {}
    for e in entries:
        if e.kind is Kind.STRIKE:
            continue
        origin = root.get(e.corrects, e.corrects) if e.corrects else e.id
        root[e.id] = origin
        newest[origin] = e
    out = []
    for e in entries:
        if e.kind is Kind.STRIKE or e.corrects:
            continue
        current = newest.get(e.id, e)
        if e.id in struck or current.id in struck:
            continue
        out.append(current)
    return out
