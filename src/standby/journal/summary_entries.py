"""What a summary at `now` reads of a patient's journal: not every entry of a long downtime
(docs/journal.md#speed-with-weeks-of-entries).

Weeks of downtime documentation give a patient hundreds of entries; a summary shows few
of them: allergies and orders (all), vital signs, doses and notes of its window, and
before the window only the newest reading of each measurement, each order's last dose
given and the newest notes (`overlay.shown_at` decides exactly which). So the journal is
read in two steps, neither of which parses the patient's whole history:

1. the entries of the kinds always shown, and those of the window (`performed_at` from
   `since`), whole;
2. before the window, only what can be the newest of its slot: a scan of the id, kind,
   time and payload of older entries, narrowed in SQL by a `LIKE` on the payload (a
   pre-filter: a payload that names the key can match, one that does not never does),
   each slot's newest that nothing strikes or corrects chosen in Python, then read whole.

Then corrections and strikes of what was read, and the entries those correct, are read
too (`repository.in_effect` needs both ends), so what stands is the same as from reading
everything. A census row reads less (`census_row`): the kinds a census row shows
(allergies, orders, the last day's doses) and the newest weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from standby.clock import instant
from standby.fhir.sections import NOTES_SHOWN
from standby.journal import schema
from standby.journal.entries import VITALS, Entry, Kind
from standby.journal.overlay import MAR_HOURS
from standby.journal.repository import COLUMNS, entry_of
from standby.store.base import Store, Transaction

ALWAYS = (Kind.ALLERGY, Kind.NO_KNOWN_ALLERGIES, Kind.ORDER)


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
        since = now - timedelta(hours=MAR_HOURS)
        windowed: tuple[Kind, ...] = (Kind.ADMINISTRATION,)
    else:
        since = now - timedelta(hours=max(hours, MAR_HOURS))
        windowed = (Kind.VITALS, Kind.ADMINISTRATION, Kind.NOTE)
    kinds = [k.value for k in (*ALWAYS, *windowed)]
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id = ? AND drill = ?"
            f" AND kind IN ({', '.join('?' * len(kinds))})"
            f" AND (kind IN ({', '.join('?' * len(ALWAYS))}) OR performed_at >= ?)",
            (patient_id, int(drill), *kinds, *(k.value for k in ALWAYS), instant(since)),
        )
        got: dict[str, tuple[int, Entry]] = {r[1]: (int(r[0]), entry_of(r[1:])) for r in rows}
        if census_row:
            older = _newest(db, patient_id, drill, None, [("vitals", "weight_kg")])
        else:
            slots = [("vitals", k) for k in VITALS] + [("administration", "given")]
            older = _newest(db, patient_id, drill, instant(since), slots, notes=True)
        _read(db, [i for i in older if i not in got], got)
        _close(db, got)
    return [e for _, e in sorted(got.values(), key=lambda x: x[0])]


def _newest(
    db: Transaction,
    patient_id: str,
    drill: bool,
    before: str | None,
    slots: Sequence[tuple[str, str]],
    *,
    notes: bool = False,
) -> list[str]:
    """Ids of what can be the newest entry of each slot before `before` (None: at any
    time): ("vitals", key) the newest reading of a measurement; ("administration",
    "given") each order's last dose given; `notes`: the newest notes."""
    found: list[str] = []
    time_sql = "" if before is None else " AND performed_at < ?"
    time_arg: tuple[Any, ...] = () if before is None else (before,)
    candidates: list[tuple[str, str, str]] = []  # slot, time, id
    for kind in dict.fromkeys(k for k, _ in slots):
        keys = [key for k, key in slots if k == kind]
        if kind == "administration":
            like = '%"status":"given"%'
        else:
            like = f'%"{keys[0]}":%' if len(keys) == 1 else "%"
        rows = db.query(
            "SELECT id, performed_at, payload FROM journal_entries WHERE patient_id = ?"
            f" AND drill = ? AND kind = ?{time_sql} AND payload LIKE ?",
            (patient_id, int(drill), kind, *time_arg, like),
        )
        for rid, at, payload in rows:
            p = orjson.loads(payload)
            if kind == "administration":
                if p.get("status") == "given":
                    candidates.append((f"given:{p.get('request_id')}", at, rid))
                continue
            candidates += [(f"vitals:{k}", at, rid) for k in keys if p.get(k) is not None]
    if notes:
        rows = db.query(
            "SELECT id, performed_at FROM journal_entries WHERE patient_id = ? AND drill = ?"
            f" AND kind = 'note'{time_sql}",
            (patient_id, int(drill), *time_arg),
        )
        candidates += [("note", at, rid) for rid, at in rows]
    if not candidates:
        return found
    superseded = _superseded(db, [c[2] for c in candidates])
    standing = [c for c in candidates if c[2] not in superseded]
    newest: dict[str, str] = {}
    for slot, at, _rid in standing:
        if slot != "note" and at > newest.get(slot, ""):
            newest[slot] = at
    note_times = sorted((at for slot, at, _ in standing if slot == "note"), reverse=True)
    cut = note_times[NOTES_SHOWN - 1] if len(note_times) >= NOTES_SHOWN else ""
    for slot, at, rid in standing:
        if (slot == "note" and at >= cut) or (slot != "note" and at == newest[slot]):
            found.append(rid)
    return list(dict.fromkeys(found))


def _superseded(db: Transaction, ids: Sequence[str]) -> set[str]:
    """Of `ids`, those a strike or a correction names."""
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        rows = db.query(
            "SELECT corrects FROM journal_entries"
            f" WHERE corrects IN ({', '.join('?' * len(part))})",
            part,
        )
        out |= {str(r[0]) for r in rows}
    return out


def _read(db: Transaction, ids: Iterable[str], got: dict[str, tuple[int, Entry]]) -> None:
    ids = list(ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries"
            f" WHERE id IN ({', '.join('?' * len(part))})",
            part,
        )
        for r in rows:
            got[r[1]] = (int(r[0]), entry_of(r[1:]))


def _close(db: Transaction, got: dict[str, tuple[int, Entry]]) -> None:
    """Add the corrections and strikes of what was read, and what those correct, until
    nothing new is named."""
    asked: set[str] = set()
    while True:
        originals = {e.corrects for _, e in got.values() if e.corrects} - set(got)
        fresh = [i for i in got if i not in asked]
        asked |= set(fresh)
        added = 0
        if originals:
            before = len(got)
            _read(db, originals, got)
            added += len(got) - before
        for i in range(0, len(fresh), 500):
            part = fresh[i : i + 500]
            rows = db.query(
                f"SELECT seq, {COLUMNS} FROM journal_entries"
                f" WHERE corrects IN ({', '.join('?' * len(part))})",
                part,
            )
            for r in rows:
                if r[1] not in got:
                    got[r[1]] = (int(r[0]), entry_of(r[1:]))
                    added += 1
        if not added and not [i for i in got if i not in asked]:
            return
