"""What a summary at `now` reads of a patient's journal: not every entry of a long downtime
(docs/journal.md#speed-with-weeks-of-entries).

Weeks of downtime documentation give a patient hundreds of entries; a summary shows few
of them: allergies and orders (all), vital signs, doses and notes of its window, and
before the window only the newest reading of each measurement, each order's last dose
given and the newest notes (`overlay.shown_at` decides exactly which). So the journal is
read in three indexed queries, none of which turns the patient's whole history into
entries:

1. the entries of the kinds always shown, and those of the window (`performed_at` from
   `since`);
2. the patient's corrections and strikes (a partial index holds only those), and the
   entries they name: `repository.in_effect` needs both ends;
3. before the window, the id, kind, time and payload of the entries that may be the
   newest of a slot (for a census row narrowed in SQL by a `LIKE` on the payload: a
   pre-filter, a payload that names the key can match, one that does not never does);
   each slot's newest that nothing strikes or corrects is chosen in Python and only
   those become entries.

What stands of that is then what stands of everything, for what a summary can show
(tests/journal/test_journal_simulate.py compares the two summaries). A census row reads
less (`census_row`): the kinds a census row shows (allergies, orders, the last day's
doses) and the newest weight.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from standby.clock import instant
from standby.fhir.sections import NOTES_SHOWN
from standby.journal import adt, converted, overlay, schema
from standby.journal.entries import VITALS, Entry, Kind
from standby.journal.repository import COLUMNS, entry_of
from standby.store.base import Store, Transaction

# read whatever their time: allergies and orders, and the admissions, transfers, discharges
# and registrations that place the patient (few per patient)
ALWAYS = (
    Kind.ALLERGY,
    Kind.NO_KNOWN_ALLERGIES,
    Kind.ORDER,
    Kind.ADMIT,
    Kind.TRANSFER,
    Kind.DISCHARGE,
    Kind.REGISTRATION,
)
PAGE = 40  # older readings and notes read newest first, this many at a time


def for_summary(
    store: Store,
    patient_id: str,
    now: datetime,
    *,
    hours: float = 48,
    census_row: bool = False,
    drill: bool = False,
) -> list[Entry]:
    """The patient's entries a summary at `now` (window `hours`) can show, with the
    corrections and strikes that decide what stands, in the order written: a superset of
    what `overlay.shown_at` keeps of them all."""
    schema.ensure(store)
    if census_row:
        since = now - timedelta(hours=overlay.MAR_HOURS)
        windowed: tuple[Kind, ...] = (Kind.ADMINISTRATION,)
        slots: dict[str, tuple[str, ...]] = {"vitals": ("weight_kg",)}
    else:
        since = now - timedelta(hours=max(hours, overlay.MAR_HOURS))
        windowed = (Kind.VITALS, Kind.ADMINISTRATION, Kind.NOTE)
        slots = {"vitals": tuple(VITALS), "administration": ("given",), "note": ()}
    kinds = [k.value for k in (*ALWAYS, *windowed)]
    got: dict[str, tuple[int, Entry]] = {}
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id = ? AND drill = ?"
            f" AND kind IN ({', '.join('?' * len(kinds))})"
            f" AND (kind IN ({', '.join('?' * len(ALWAYS))}) OR performed_at >= ?)",
            (patient_id, int(drill), *kinds, *(k.value for k in ALWAYS), instant(since)),
        )
        _keep(rows, got)
        # every correction and strike of the patient (few), and what they name
        fixes = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries"
            " WHERE patient_id = ? AND corrects IS NOT NULL",
            (patient_id,),
        )
        _keep(fixes, got)
        superseded = {str(r[13]) for r in fixes}
        _read(db, superseded - set(got), got)
        before = None if census_row else instant(since)
        older = _older(db, patient_id, drill, before, slots, census_row, superseded)
        _keep(_newest(older, superseded), got)
        out = [e for _, e in sorted(got.values(), key=lambda x: x[0])]
        stored_resources(db, overlay.shown(out, now=now, hours=hours, census_row=census_row))
    return out


ENTRIES_KEPT = 16384  # stored rows whose entries are kept, newest used


class _Rows:
    """The entry of each stored row a summary read, kept: an entry never changes (the
    journal is append-only), so a view does not parse its times and payload again, and
    the entry it gets is the very object whose resources `overlay.resources_of` keeps.
    Keyed by the whole row (every column), so a row that differs in anything is never
    given another's entry. Entries are frozen and their payloads only read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()

    def entry(self, row: Sequence[Any]) -> Entry:
        key = tuple(row)
        with self.lock:
            e = self.kept.get(key)
            if e is not None:
                self.kept.move_to_end(key)
                return e
        e = entry_of(key)
        with self.lock:
            self.kept[key] = e
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return e

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()


_rows = _Rows(ENTRIES_KEPT)


def kept_entry(row: Sequence[Any]) -> Entry:
    """The entry of a stored row of `repository.COLUMNS`, kept (`_Rows`)."""
    return _rows.entry(row)


def forget_kept() -> None:
    """Drop every kept entry (what a newly started process has: the first view)."""
    _rows.clear()


def placing(store: Store, patient_id: str, *, drill: bool = False) -> list[Entry]:
    """The patient's admissions, transfers, discharges and registrations, with the
    corrections and strikes that decide what stands, in the order written: all that
    decides who the patient is and where (`clinical.summary.patient_identity`), without
    their weeks of documentation."""
    schema.ensure(store)
    kinds = [k.value for k in ALWAYS if k in adt.ADT_KINDS]
    got: dict[str, tuple[int, Entry]] = {}
    with store.read_transaction() as db:
        _keep(
            db.query(
                f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id = ?"
                f" AND drill = ? AND kind IN ({', '.join('?' * len(kinds))})",
                (patient_id, int(drill), *kinds),
            ),
            got,
        )
        fixes = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries"
            " WHERE patient_id = ? AND corrects IS NOT NULL",
            (patient_id,),
        )
        _keep(fixes, got)
        _read(db, {str(r[13]) for r in fixes} - set(got), got)
    return [e for _, e in sorted(got.values(), key=lambda x: x[0])]


def _keep(rows: Iterable[Sequence[Any]], got: dict[str, tuple[int, Entry]]) -> None:
    for r in rows:
        if r[1] not in got:
            got[r[1]] = (int(r[0]), _rows.entry(r[1:]))


def _older(
    db: Transaction,
    patient_id: str,
    drill: bool,
    before: str | None,
    slots: dict[str, tuple[str, ...]],
    narrow: bool,
    superseded: set[str],
) -> list[tuple[str, Sequence[Any]]]:
    """(slot, row) of each entry before `before` (None: any time) that may be the newest
    of a slot: ("vitals:<key>") a reading of the measurement, ("given:<request>") a dose
    given of the order, ("note") a note. Readings and notes are read newest first, a page
    at a time: once every slot has a standing entry newer than the page's last, older
    ones cannot be the newest (a dose's slots, one per order, are never known complete)."""
    out: list[tuple[str, Sequence[Any]]] = []
    time_sql = "" if before is None else " AND performed_at < ?"
    time_arg: tuple[Any, ...] = () if before is None else (before,)
    for kind, keys in slots.items():
        like = f'%"{keys[0]}":%' if narrow and len(keys) == 1 else "%"
        sql = (
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id = ? AND drill = ?"
            f" AND kind = ?{time_sql} AND payload LIKE ? ORDER BY performed_at DESC"
        )
        params = (patient_id, int(drill), kind, *time_arg, like)
        paged = kind != "administration"
        rows = db.query(sql + f" LIMIT {PAGE}" if paged else sql, params)
        if paged and len(rows) == PAGE and not _complete(kind, keys, rows, superseded):
            rows = db.query(sql, params)
        for r in rows:
            if kind == "note":
                out.append(("note", r))
                continue
            p = orjson.loads(r[15])
            if kind == "administration":
                if p.get("status") == "given":
                    out.append((f"given:{p.get('request_id')}", r))
                continue
            out += [(f"vitals:{k}", r) for k in keys if p.get(k) is not None]
    return out


def _complete(
    kind: str, keys: tuple[str, ...], rows: Sequence[Sequence[Any]], superseded: set[str]
) -> bool:
    """Whether a page newest first holds the newest of every slot: each has a standing
    entry done strictly after the page's last (so nothing beyond the page can tie it)."""
    last = rows[-1][8]
    standing = [r for r in rows if r[1] not in superseded and r[8] > last]
    if kind == "note":
        return len(standing) >= NOTES_SHOWN
    found: set[str] = set()
    for r in standing:
        p = orjson.loads(r[15])
        found |= {k for k in keys if p.get(k) is not None}
    return found == set(keys)


def _newest(older: list[tuple[str, Sequence[Any]]], superseded: set[str]) -> list[Sequence[Any]]:
    """Of `older`, each slot's newest by the time it was done (ties: all) that nothing
    strikes or corrects; the newest notes, as many as a summary shows."""
    standing = [(slot, r) for slot, r in older if r[1] not in superseded]
    newest: dict[str, str] = {}
    for slot, r in standing:
        if slot != "note" and r[8] > newest.get(slot, ""):
            newest[slot] = r[8]
    notes = sorted((r[8] for slot, r in standing if slot == "note"), reverse=True)
    cut = notes[NOTES_SHOWN - 1] if len(notes) >= NOTES_SHOWN else ""
    return [
        r
        for slot, r in standing
        if (slot == "note" and r[8] >= cut) or (slot != "note" and r[8] == newest[slot])
    ]


def stored_resources(db: Transaction, entries: Iterable[Entry]) -> None:
    """Hand the overlay the resources stored with those of `entries` (what a view shows:
    `overlay.shown`) it would convert (not kept), in one query per 500: a first view
    parses them instead of converting (`journal.converted`). A row without them (written
    before they were stored) or of another mapping's version is left to be converted."""
    wanted = {e.id: e for e in entries if overlay.needs_resources(e)}
    ids = list(wanted)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        rows = db.query(
            "SELECT id, resources FROM journal_entries"
            f" WHERE id IN ({', '.join('?' * len(part))}) AND mapping = ?",
            (*part, converted.MAPPING),
        )
        for entry_id, text in rows:
            if text is not None:
                overlay.keep_stored(wanted[entry_id], text)


def _read(db: Transaction, ids: Iterable[str], got: dict[str, tuple[int, Entry]]) -> None:
    ids = list(ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries"
            f" WHERE id IN ({', '.join('?' * len(part))})",
            part,
        )
        _keep(rows, got)
