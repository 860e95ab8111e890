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
from collections.abc import Iterable, Mapping, Sequence
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


class _Placements:
    """One store's placements (drill or real), kept up to date by journal seq: the
    journal is append-only, so only the entries written since the last read are read,
    and only their patients' placements computed again. The count of the entries read
    (index only) catches one that committed late with a lower seq (concurrent writers
    on PostgreSQL): then everything is read again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = 0
        self.count = 0
        self.entries: dict[str, list[Entry]] = {}
        self.placed: dict[str, Placement] = {}

    def refresh(self, db: Any, drill: int) -> dict[str, Placement]:
        new = db.query(
            f"SELECT seq, {repository.COLUMNS} FROM journal_entries"
            f" WHERE kind IN ({_MARKS}) AND drill = ? AND seq > ? ORDER BY seq",
            (*_PLACING, drill, self.seq),
        )
        total = int(
            db.query(
                f"SELECT count(*) FROM journal_entries WHERE kind IN ({_MARKS}) AND drill = ?",
                (*_PLACING, drill),
            )[0][0]
        )
        if total != self.count + len(new):  # one came late, below our seq: read all
            self.seq, self.count, self.entries, self.placed = 0, 0, {}, {}
            return self.refresh(db, drill)
        touched: set[str] = set()
        for r in new:
            e = repository.entry_of(r[1:])
            self.entries.setdefault(e.patient_id, []).append(e)
            touched.add(e.patient_id)
            self.seq = max(self.seq, int(r[0]))
        self.count = total
        if touched:
            placed = dict(self.placed)  # a new dict: one handed out before never changes
            for pid in touched:
                got = _placement(pid, self.entries[pid])
                if got is None:
                    placed.pop(pid, None)
                else:
                    placed[pid] = got
            self.placed = placed
        return self.placed


_kept: weakref.WeakKeyDictionary[Store, dict[bool, _Placements]] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def placements(store: Store, *, drill: bool = False) -> dict[str, Placement]:
    """Every patient the journal has admitted, moved, discharged or registered (what
    stands of it), with where it last put them. Drill entries only with `drill`. Kept per
    store object and read incrementally (only the entries written since the last call);
    equal to `placements_recomputed`. The dict returned is shared: do not change it."""
    schema.ensure(store)
    with _kept_lock:
        kept = _kept.setdefault(store, {}).setdefault(drill, _Placements())
    with kept.lock, store.read_transaction() as db:
        return kept.refresh(db, 1 if drill else 0)


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
