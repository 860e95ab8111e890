"""Admissions, transfers, discharges and registrations in the journal: where the journal
puts each patient (docs/journal.md#admit-transfer-discharge-and-registration).

While the EHR is down the census must stay true: a patient moved to another bed appears
there and not in the old one, a discharged patient leaves the unit, an admitted or
registered patient appears. The replica cannot hear of it, so the read model applies the
journal's ADT entries to the patient's encounters (`encounters_after`, pure): an admit
adds a new inpatient Encounter, a transfer changes the current Encounter's bed from the
performed time, a discharge finishes it — each the resource back-entry will file
(`fhir_mapping.to_fhir`), tagged `downtime`. A registration makes a patient of its own,
known only to the journal (local id `journal-<uuid>`), with its Patient and Encounter.

`placements` reads, for the census, where the journal last put every patient it moved,
admitted, discharged or registered (one query over the journal's ADT entries), so that a
unit's census finds the patients who moved in during the downtime without reading the
whole replica.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.clock import instant
from standby.fhir.header import current_encounter
from standby.journal import repository, schema
from standby.journal.converted import local_id
from standby.journal.entries import Entry, Kind
from standby.journal.fhir_mapping import Subject, to_fhir
from standby.store.base import Store

JSON = dict[str, Any]
ADT_KINDS = frozenset({Kind.ADMIT, Kind.TRANSFER, Kind.DISCHARGE, Kind.REGISTRATION})


def _stamp(resource: JSON, entry: Entry) -> JSON:
    resource["meta"] = {
        **resource.get("meta", {}),
        "versionId": "1",
        "lastUpdated": instant(entry.recorded_at),
    }
    return resource


def encounters_after(
    encounters: Sequence[Mapping[str, Any]], entries: Iterable[Entry]
) -> list[Mapping[str, Any]]:
    """The patient's encounters (the replica's) with what stands of the journal's ADT
    entries applied in the order written. A transfer or discharge changes the encounter
    the entry names (else the current one), keeping its id; an admit or a registration
    adds an encounter with a local id. The replica's encounters are never changed: a
    changed one is a new object in its place."""
    out: list[Mapping[str, Any]] = list(encounters)
    for e in entries:
        if e.kind not in ADT_KINDS:
            continue
        made = to_fhir(e, Subject.local(e), current=None)
        if e.kind is Kind.REGISTRATION:
            enc = made[1]
            enc["id"] = local_id(enc)
            out.append(_stamp(enc, e))
            continue
        if e.kind is Kind.ADMIT:
            enc = made[0]
            enc["id"] = local_id(enc)
            out.append(_stamp(enc, e))
            continue
        named = next((x for x in out if e.encounter_id and x.get("id") == e.encounter_id), None)
        current = named or current_encounter(out)
        if current is None:
            continue  # nothing to move or end: the form refuses it; an old entry changes nothing
        changed = to_fhir(e, Subject.local(e), current=current)[0]
        changed["id"] = current.get("id")
        out = [changed if x is current else x for x in out]
        _stamp(changed, e)
    return out


def registered_patient(entries: Iterable[Entry]) -> JSON | None:
    """The Patient a registration made (the newest correction of it), with its local id."""
    for e in reversed(list(entries)):
        if e.kind is Kind.REGISTRATION:
            patient = to_fhir(e, Subject.local(e))[0]
            patient["id"] = e.patient_id
            return _stamp(patient, e)
    return None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the journal last put a patient."""

    patient_id: str
    location_id: str | None  # None: discharged
    kind: Kind  # the entry that put them there
    at: datetime  # performed
    entry_id: str
    disposition: str = ""  # a discharge's


def _placement(pid: str, entries: Sequence[Entry]) -> Placement | None:
    standing = [e for e in repository.in_effect(entries) if e.kind in ADT_KINDS]
    if not standing:
        return None
    last = standing[-1]
    loc = None if last.kind is Kind.DISCHARGE else last.payload.get("location_id") or None
    disposition = str(last.payload.get("disposition") or "")
    return Placement(pid, loc, last.kind, last.performed_at, last.id, disposition)


_PLACING = tuple(k.value for k in (*ADT_KINDS, Kind.STRIKE))
_MARKS = ", ".join("?" * len(_PLACING))
_KINDS = {k.value: k for k in Kind}
_TABLE_COLUMNS = "patient_id, location_id, kind, performed_at, entry_id, disposition"


def _row(p: Placement) -> tuple[Any, ...]:
    return (p.patient_id, p.location_id, p.kind.value, instant(p.at), p.entry_id, p.disposition)


def _of_row(r: Sequence[Any]) -> Placement:
    return Placement(
        str(r[0]), r[1], _KINDS[r[2]], repository.stored_instant(str(r[3])), str(r[4]), str(r[5])
    )


def _placing_rows(db: Any, drill: int, patients: Iterable[str] | None) -> list[Any]:
    """The placing entries (admissions, transfers, discharges, registrations, strikes) of
    `patients` (None: everyone's), in the order written."""
    if patients is None:
        return list(
            db.query(
                f"SELECT seq, {repository.COLUMNS} FROM journal_entries"
                f" WHERE kind IN ({_MARKS}) AND drill = ? ORDER BY seq",
                (*_PLACING, drill),
            )
        )
    pids = sorted(set(patients))
    out: list[Any] = []
    for i in range(0, len(pids), 400):
        part = pids[i : i + 400]
        out += db.query(
            f"SELECT seq, {repository.COLUMNS} FROM journal_entries"
            f" WHERE patient_id IN ({', '.join('?' * len(part))}) AND kind IN ({_MARKS})"
            " AND drill = ?",
            (*part, *_PLACING, drill),
        )
    return sorted(out, key=lambda r: int(r[0]))


def _computed(rows: Iterable[Sequence[Any]]) -> dict[str, Placement | None]:
    """Each patient's placement from their placing rows (`_placing_rows`; None: nothing
    that stands places them)."""
    by_patient: dict[str, list[Entry]] = {}
    for r in rows:
        e = repository.entry_of(r[1:])
        by_patient.setdefault(e.patient_id, []).append(e)
    return {pid: _placement(pid, entries) for pid, entries in by_patient.items()}


def _state(db: Any, drill: int) -> tuple[int, int] | None:
    """(the newest seq, how many placing entries) the table holds; None: no table."""
    rows = db.query("SELECT upto, counted FROM journal_placements_state WHERE drill = ?", (drill,))
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _unreflected(db: Any, drill: int, upto: int) -> tuple[list[Any], int]:
    """The placing entries written after `upto` (seq, id, patient), and how many placing
    entries there are in all."""
    new = db.query(
        "SELECT seq, id, patient_id FROM journal_entries"
        f" WHERE kind IN ({_MARKS}) AND drill = ? AND seq > ?",
        (*_PLACING, drill, upto),
    )
    total = db.query(
        f"SELECT count(*) FROM journal_entries WHERE kind IN ({_MARKS}) AND drill = ?",
        (*_PLACING, drill),
    )
    return list(new), int(total[0][0])


def keep_placements(db: Any, written: Iterable[Entry | Sequence[Any]] = ()) -> None:
    """Bring `journal_placements` up to date, inside the write transaction `db` that has
    just written `written` (entries, or rows of `repository.COLUMNS`): the placements of
    their patients and of every placing entry after the table's newest are computed again
    from those patients' entries; when the count of placing entries says one was written
    without this (an older tree, a bulk copy) below the newest, the whole table is
    rebuilt. The state row is locked first, so that concurrent writers (PostgreSQL) keep
    it one after another, each seeing the entries the one before committed."""
    own: dict[int, dict[str, str]] = {0: {}, 1: {}}  # drill → entry id → patient
    for w in written:
        if isinstance(w, Entry):
            eid, kind, pid, drill = w.id, w.kind.value, w.patient_id, int(w.drill)
        else:
            eid, kind, pid, drill = str(w[0]), str(w[1]), str(w[2]), int(w[13])
        if kind in _PLACING:
            own[drill][eid] = pid
    for drill in (0, 1):
        if not own[drill]:  # nothing written here moves anyone: readers catch up on others
            continue
        db.execute("UPDATE journal_placements_state SET upto = upto WHERE drill = ?", (drill,))
        state = _state(db, drill)
        if state is None:
            continue
        upto, count = state
        new, total = _unreflected(db, drill, upto)
        ids = {str(r[1]) for r in new} | set(own[drill])
        if total != count + len(ids):  # one was written without keeping the table
            _rebuild(db, drill)
            continue
        patients = {str(r[2]) for r in new} | set(own[drill].values())
        placed = _computed(_placing_rows(db, drill, patients))
        for pid in patients:
            db.execute(
                "DELETE FROM journal_placements WHERE drill = ? AND patient_id = ?", (drill, pid)
            )
            got = placed.get(pid)
            if got is not None:
                db.execute(
                    f"INSERT INTO journal_placements (drill, {_TABLE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (drill, *_row(got)),
                )
        newest = max([upto, *(int(r[0]) for r in new)])
        db.execute(
            "UPDATE journal_placements_state SET upto = ?, counted = ? WHERE drill = ?",
            (newest, total, drill),
        )


def _rebuild(db: Any, drill: int) -> None:
    rows = _placing_rows(db, drill, None)
    db.execute("DELETE FROM journal_placements WHERE drill = ?", (drill,))
    for got in _computed(rows).values():
        if got is not None:
            db.execute(
                f"INSERT INTO journal_placements (drill, {_TABLE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (drill, *_row(got)),
            )
    db.execute(
        "UPDATE journal_placements_state SET upto = ?, counted = ? WHERE drill = ?",
        (max([0, *(int(r[0]) for r in rows)]), len(rows), drill),
    )


def rebuild_placements(store: Store) -> None:
    """`journal_placements` computed again from every entry (what it must already hold)."""
    schema.ensure(store)
    with store.transaction() as db:
        db.execute("UPDATE journal_placements_state SET upto = upto")
        for drill in (0, 1):
            _rebuild(db, drill)


def placements_stored(store: Store, *, drill: bool = False) -> dict[str, Placement]:
    """What `journal_placements` holds (tests compare it with `placements_recomputed`)."""
    schema.ensure(store)
    with store.read_transaction() as db:
        rows = db.query(
            f"SELECT {_TABLE_COLUMNS} FROM journal_placements WHERE drill = ?", (int(drill),)
        )
    return {str(r[0]): _of_row(r) for r in rows}


class _Placements:
    """One store's placements (drill or real): the table `journal_placements`, read again
    only when its state changed, with, read from the journal, what the table does not
    reflect yet (entries written by an older tree or a bulk copy: their patients are
    computed again; one written below the table's newest without keeping it: all)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[int, int, int] | None = None  # the state and the count read
        self.placed: dict[str, Placement] = {}

    def refresh(self, db: Any, drill: int) -> dict[str, Placement]:
        upto, count = _state(db, drill) or (0, 0)
        new, total = _unreflected(db, drill, upto)
        key = (upto, count, total)  # a placing entry written anyhow changes the total
        if key == self.key:
            return self.placed
        rows = db.query(
            f"SELECT {_TABLE_COLUMNS} FROM journal_placements WHERE drill = ?", (drill,)
        )
        placed = {str(r[0]): _of_row(r) for r in rows}
        if total != count + len(new):  # written without keeping the table, below its newest
            placed = {p: x for p, x in _computed(_placing_rows(db, drill, None)).items() if x}
        elif new:
            for pid, got in _computed(_placing_rows(db, drill, {str(r[2]) for r in new})).items():
                if got is None:
                    placed.pop(pid, None)
                else:
                    placed[pid] = got
        self.key, self.placed = key, placed
        return placed

    def among(
        self, db: Any, drill: int, locations: Collection[str], patients: Collection[str]
    ) -> dict[str, Placement]:
        """`refresh` of the patients placed at `locations` or among `patients` only: when
        the table reflects every placing entry, read from it by location and patient (a
        first view reads a few rows, not every patient the journal placed)."""
        upto, count = _state(db, drill) or (0, 0)
        new, total = _unreflected(db, drill, upto)
        if (upto, count, total) == self.key or new or total != count:
            wanted = set(locations)
            return {
                pid: pl
                for pid, pl in self.refresh(db, drill).items()
                if pl.location_id in wanted or pid in patients
            }
        out: dict[str, Placement] = {}
        for column, values in (
            ("location_id", sorted(set(locations))),
            ("patient_id", sorted(set(patients))),
        ):
            for i in range(0, len(values), 400):
                part = values[i : i + 400]
                for r in db.query(
                    f"SELECT {_TABLE_COLUMNS} FROM journal_placements"
                    f" WHERE drill = ? AND {column} IN ({', '.join('?' * len(part))})",
                    (drill, *part),
                ):
                    out[str(r[0])] = _of_row(r)
        return out


_kept: weakref.WeakKeyDictionary[Store, dict[bool, _Placements]] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def placements(store: Store, *, drill: bool = False) -> dict[str, Placement]:
    """Every patient the journal has admitted, moved, discharged or registered (what
    stands of it), with where it last put them. Drill entries only with `drill`. Read from
    `journal_placements`, kept in the transaction that writes the entries
    (`keep_placements`), and kept per store object until its state changes; equal to
    `placements_recomputed`. The dict returned is shared: do not change it."""
    schema.ensure(store)
    with _kept_lock:
        kept = _kept.setdefault(store, {}).setdefault(drill, _Placements())
    with kept.lock, store.read_transaction() as db:
        return kept.refresh(db, 1 if drill else 0)


def placements_among(
    store: Store,
    locations: Collection[str],
    patients: Collection[str],
    *,
    drill: bool = False,
) -> dict[str, Placement]:
    """Of `placements`, those of the patients the journal placed at one of `locations`
    (None: discharged is at none) or among `patients`: what a unit's census needs (its
    beds and rooms, and the patients the replica has on it)."""
    schema.ensure(store)
    with _kept_lock:
        kept = _kept.setdefault(store, {}).setdefault(drill, _Placements())
    with kept.lock, store.read_transaction() as db:
        return kept.among(db, 1 if drill else 0, locations, patients)


def placements_recomputed(store: Store, *, drill: bool = False) -> dict[str, Placement]:
    """`placements` from every entry, nothing kept (what the kept one must equal)."""
    schema.ensure(store)
    sql = (
        f"SELECT {repository.COLUMNS} FROM journal_entries WHERE kind IN ({_MARKS})"
        " AND drill = ? ORDER BY seq"
    )
    with store.read_transaction() as db:
        rows = db.query(sql, (*_PLACING, 1 if drill else 0))
    by_patient: dict[str, list[Entry]] = {}
    for r in rows:
        e = repository.entry_of(r)
        by_patient.setdefault(e.patient_id, []).append(e)
    out: dict[str, Placement] = {}
    for pid, entries in by_patient.items():
        got = _placement(pid, entries)
        if got is not None:
            out[pid] = got
    return out


def registered_patients(store: Store, *, drill: bool = False) -> list[JSON]:
    """The Patient of every registration that stands (local ids `journal-<uuid>`), for
    patient search."""
    schema.ensure(store)
    kinds = (Kind.REGISTRATION.value, Kind.STRIKE.value)
    sql = (
        f"SELECT {repository.COLUMNS} FROM journal_entries WHERE kind IN (?, ?)"
        " AND drill = ? ORDER BY seq"
    )
    with store.read_transaction() as db:
        rows = db.query(sql, (*kinds, 1 if drill else 0))
    by_patient: dict[str, list[Entry]] = {}
    for r in rows:
        e = repository.entry_of(r)
        by_patient.setdefault(e.patient_id, []).append(e)
    out = []
    for entries in by_patient.values():
        patient = registered_patient(repository.in_effect(entries))
        if patient is not None:
            out.append(patient)
    return out
