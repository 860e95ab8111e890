"""Which units' packets changed since the last generation (incremental regeneration).

A generation records where it started reading: the store's newest change sequence
(`Store.last_seq`, read before any data, so what lands during the generation is looked at
again next time), the journal's newest entry, and each unit's patients. The next round
reads the change marks since then (`Store.change_marks`: one indexed probe when nothing
changed) and the journal's new entries, and regenerates exactly the units that hold a
changed patient now or held one at the last generation (an admission, a transfer or a
discharge changes two units). Everything else keeps its files.

It falls back to regenerating everything — always correct — when it cannot tell: no
previous generation (or one from before these records), an engine without change marks,
a change to a resource outside every patient's compartment (a Location or Medication
renamed, a deletion: tombstones carry no patient), a changed patient whose unit cannot be
found, more changes than `MAX_MARKS`, or different inputs (banner, the downtime's charting
cutoff, standard administration times, which units).

What the clock changes (a dose turning overdue) is not a change mark: the full rounds of
`run_forever` (every N minutes) reprint every unit at the new time, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.clinical.summary import patient_identity
from standby.journal import repository as journal_repository
from standby.store.base import Store

MAX_MARKS = 50_000  # beyond this, a bulk load: regenerate everything


@dataclass(frozen=True)
class Since:
    """Where the previous generation started reading, and what it held."""

    seq: int
    journal_seq: int
    inputs: str
    rosters: Mapping[str, frozenset[str]]  # unit id → patient ids at that generation


def inputs_key(**inputs: Any) -> str:
    """A fingerprint of what every page depends on besides the data."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_since(manifest: Mapping[str, Any] | None) -> Since | None:
    """The previous generation's records from its manifest.json (None: none usable)."""
    if not manifest or not isinstance(manifest.get("seq"), int):
        return None
    rosters: dict[str, frozenset[str]] = {}
    for u in manifest.get("units") or []:
        if u.get("error") or not u.get("generation"):
            return None  # a unit that failed last time: regenerate everything
        rosters[str(u["unit_id"])] = frozenset(u.get("patient_ids") or [])
    return Since(
        int(manifest["seq"]),
        int(manifest.get("journal_seq") or 0),
        str(manifest.get("inputs") or ""),
        rosters,
    )


def changed_patients(store: Store, since: Since) -> set[str] | None:
    """Patients with a change (replica or journal) since `since`; None: cannot tell."""
    patients: set[str] = set()
    after = since.seq
    seen = 0
    while True:
        marks = store.change_marks(after, limit=10_000)
        if marks is None:
            return None
        for _seq, _rtype, _rid, patient_id in marks:
            if patient_id is None:
                return None  # shared (Location, Medication, ...) or deleted: unknown reach
            patients.add(patient_id)
        seen += len(marks)
        if len(marks) < 10_000:
            break
        if seen >= MAX_MARKS:
            return None
        after = marks[-1][0]
    _newest, written = journal_repository.patients_since(store, since.journal_seq)
    return patients | written


def changed_units(
    store: Store, since: Since, inputs: str, unit_ids: Iterable[str], now: datetime
) -> set[str] | None:
    """The units to regenerate; None: every one."""
    if inputs != since.inputs:
        return None
    patients = changed_patients(store, since)
    if patients is None:
        return None
    wanted = set(unit_ids)
    if wanted - since.rosters.keys():
        return None  # a unit the last generation did not make
    out: set[str] = set()
    for pid in patients:
        out |= {u for u, roster in since.rosters.items() if pid in roster}
        found = patient_identity(store, pid, now)
        if found is None:
            return None  # no Patient resource: a census may still place them anywhere
        if found.identity.unit_id is not None:
            out.add(found.identity.unit_id)
    return out & wanted
