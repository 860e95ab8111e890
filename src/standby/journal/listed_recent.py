"""What the summary page lists of a patient's journal: what stands of the entries done or
recorded in the last hours, newest first, and how many earlier ones stand (the page
links to the documentation page for them) — without reading the patient's whole
journal at every view (weeks of downtime give a patient hundreds of entries).

Three indexed reads: the patient's corrections and strikes with the entries they name
(`repository.in_effect` needs whole chains), the entries that are neither and are recent,
and a count of the entries that are neither. Equal to filtering
`in_effect(for_patient(...))` (tests/journal/test_journal_listed_recent.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from standby.clock import instant
from standby.journal import schema
from standby.journal.entries import Entry
from standby.journal.overlay import LISTED
from standby.journal.repository import COLUMNS, in_effect
from standby.journal.summary_entries import kept_entry
from standby.store.base import Store

_LISTED = sorted(k.value for k in LISTED)
_MARKS = ", ".join("?" * len(_LISTED))


def is_recent(e: Entry, since: datetime) -> bool:
    """Done or recorded at or after `since`."""
    return max(e.performed_at, e.recorded_at) >= since


def listed_since(
    store: Store, patient_id: str, since: datetime, *, drill: bool
) -> tuple[list[Entry], int]:
    """(what stands of the patient's entries of the kinds the documentation lists, done or
    recorded at or after `since`, newest first; how many earlier ones stand), of the
    drill's entries or the real ones."""
    schema.ensure(store)
    at = instant(since)
    mine = "patient_id = ? AND drill = ?"
    with store.read_transaction() as db:
        fixes = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE {mine} AND corrects IS NOT NULL",
            (patient_id, int(drill)),
        )
        fixed = {str(r[1]) for r in fixes}
        named = _by_id(db, {str(r[13]) for r in fixes} - fixed)
        recent = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE {mine} AND corrects IS NULL"
            f" AND kind IN ({_MARKS}) AND (performed_at >= ? OR recorded_at >= ?)",
            (patient_id, int(drill), *_LISTED, at, at),
        )
        originals = int(
            db.query(
                f"SELECT count(*) FROM journal_entries WHERE {mine} AND corrects IS NULL"
                f" AND kind IN ({_MARKS})",
                (patient_id, int(drill), *_LISTED),
            )[0][0]
        )
    touched = [
        r
        for r in named
        if r[13] is None and r[2] in _LISTED and r[3] == patient_id and int(r[14]) == int(drill)
    ]
    chains = _entries([*fixes, *named])
    standing_touched = [e for e in in_effect(chains) if e.kind in LISTED]
    untouched = {str(r[1]) for r in recent} - {str(r[1]) for r in touched}
    shown = _entries([*fixes, *named, *(r for r in recent if r[1] in untouched)])
    listed = [e for e in reversed(in_effect(shown)) if e.kind in LISTED and is_recent(e, since)]
    standing = originals - len(touched) + len(standing_touched)
    return listed, standing - len(listed)


def _by_id(db: Any, ids: Iterable[str]) -> list[Sequence[Any]]:
    ids = sorted(ids)
    out: list[Sequence[Any]] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        out += db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries"
            f" WHERE id IN ({', '.join('?' * len(part))})",
            part,
        )
    return out


def _entries(rows: Iterable[Sequence[Any]]) -> list[Entry]:
    """The entries of `rows` (each once), in the order written."""
    by_id = {str(r[1]): r for r in rows}
    return [kept_entry(r[1:]) for r in sorted(by_id.values(), key=lambda r: int(r[0]))]
