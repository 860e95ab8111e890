"""The journal as the read model sees it: what stands of a patient's entries, as FHIR
resources beside the replica's (pure).

"One view of truth": the census, the summary, the MAR and the packets read the replica's
resources plus these. A dose given during downtime is then a MedicationAdministration of
the order like any other, so the MAR counts it as given and computes the next dose from
it; vital signs, notes, allergies and orders appear where the EHR's would. Each resource
has a local id (`journal-<uuid>`, never an EHR id) and is tagged `downtime` in
`meta.tag`, which is how the pages mark it "entered during downtime — not yet in the EHR"
(`is_from_journal`). Struck entries are gone and corrected ones replaced
(`repository.in_effect`); drill entries appear only in a drill.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from standby.fhir.sections import NOTES_SHOWN
from standby.journal import adt, converted
from standby.journal.adt import local_id
from standby.journal.entries import VITALS, Entry, Kind
from standby.journal.fhir_mapping import (
    DOWNTIME_TAG,
    JOURNAL_ID_PREFIX,
    forget_kept_identifiers,
)
from standby.journal.repository import in_effect

JSON = dict[str, Any]
# the kinds whose resources the read model shows beside the replica's (admissions,
# transfers and discharges change the patient's encounters instead, and a registration
# is a patient of its own: `with_journal`, `standby.journal.adt`)
SHOWN = frozenset(
    {
        Kind.VITALS,
        Kind.ADMINISTRATION,
        Kind.NOTE,
        Kind.ORDER,
        Kind.ALLERGY,
        Kind.NO_KNOWN_ALLERGIES,
    }
)


# the kinds the documentation lists show (what is documented, and admissions, transfers,
# discharges and registrations)
LISTED = SHOWN | adt.ADT_KINDS

__all__ = [
    "LISTED",
    "MAR_HOURS",
    "SHOWN",
    "as_resources",
    "is_from_journal",
    "local_id",
    "shown_at",
    "with_journal",
]


# the MAR's window of administrations (`standby.fhir.mar`: the last 24 h, and each
# order's last dose given however old)
MAR_HOURS = 24


def as_resources(
    entries: Iterable[Entry],
    *,
    drill: bool = False,
    now: datetime | None = None,
    hours: float = 48,
    census_row: bool = False,
) -> list[JSON]:
    """The resources of what stands of `entries` (one patient's, in the order written),
    with local ids, ready to be read beside the replica's. With `now`: only those a
    summary at `now` with a window of `hours` can show (`shown_at`); `census_row`: only
    what a census row shows (`for_census_row`)."""
    out: list[JSON] = []
    for e in shown(entries, drill=drill, now=now, hours=hours, census_row=census_row):
        out += resources_of(e)
    return out


def shown(
    entries: Iterable[Entry],
    *,
    drill: bool = False,
    now: datetime | None = None,
    hours: float = 48,
    census_row: bool = False,
) -> list[Entry]:
    """The entries whose resources `as_resources` gives (same arguments)."""
    wanted = in_effect(e for e in entries if e.drill == drill)
    wanted = [e for e in wanted if e.kind in SHOWN]
    if now is not None:
        wanted = shown_at(wanted, now, hours)
    if census_row:
        wanted = [e for e in wanted if for_census_row(e)]
    return wanted


CONVERTED_KEPT = 16384  # entries whose resources are kept (as JSON text), newest used


class _Converted:
    """The resources of each entry, kept as JSON text: an entry never changes (the
    journal is append-only), so a view parses its resources instead of building them
    again. Found by the entry's id and used only for an entry equal in every field to the
    one they were made from (the same object, when `summary_entries` hands out the entry
    it keeps for a stored row): two entries that differ in anything are never confused,
    and no key is built from the entry at every view."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.kept: OrderedDict[str, tuple[Entry, bytes]] = OrderedDict()

    def get(self, e: Entry) -> list[JSON]:
        with self.lock:
            got = self.kept.get(e.id)
            if got is not None and (got[0] is e or got[0] == e):
                self.kept.move_to_end(e.id)
            else:
                got = None
        if got is not None:
            parsed: list[JSON] = orjson.loads(got[1])
            return parsed
        made = _convert(e)
        raw = orjson.dumps(made)
        if orjson.loads(raw) == made:  # only what reads back the same is kept
            self.keep(e, raw)
        return made

    def has(self, e: Entry) -> bool:
        with self.lock:
            got = self.kept.get(e.id)
        return got is not None and (got[0] is e or got[0] == e)

    def keep(self, e: Entry, raw: bytes) -> None:
        with self.lock:
            self.kept[e.id] = (e, raw)
            self.kept.move_to_end(e.id)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()


_convert = converted.convert  # the one conversion (`journal.converted`)

_converted = _Converted(CONVERTED_KEPT)


def resources_of(e: Entry) -> list[JSON]:
    """The FHIR resources of one entry with local ids (new objects at every call)."""
    return _converted.get(e)


def needs_resources(e: Entry) -> bool:
    """Whether a view would convert `e` (a kind whose resources are shown, not kept)."""
    return e.kind in SHOWN and not _converted.has(e)


def keep_stored(e: Entry, text: str) -> None:
    """Keep the conversion stored in `e`'s row (`journal.converted`, read with the entry
    by the caller, of the current mapping): what `resources_of(e)` then hands out."""
    _converted.keep(e, text.encode())


def forget_kept() -> None:
    """Drop every kept conversion and identifier value (what a newly started process has:
    the first view)."""
    _converted.clear()
    forget_kept_identifiers()


def with_journal(
    resources: Sequence[Mapping[str, Any]],
    entries: Iterable[Entry],
    *,
    drill: bool = False,
    now: datetime | None = None,
    hours: float = 48,
    census_row: bool = False,
) -> list[Mapping[str, Any]]:
    """One patient's resources from the replica with what stands of their journal entries:
    the documented resources beside the replica's (`as_resources`), their encounters as the
    journal's admissions, transfers and discharges left them (`adt.encounters_after`), and,
    for a patient registered during downtime (`journal-<uuid>`), the registration's
    Patient. A patient who exists only in a drill (registered in it) is shown with the
    drill's entries. The replica's resources are handed on as they are, not copied (a
    summary of a long stay holds hundreds): what the journal changes is a new object."""
    entries = list(entries)
    if any(e.kind is Kind.REGISTRATION and e.drill for e in entries) and all(
        e.patient_id.startswith(JOURNAL_ID_PREFIX) for e in entries
    ):
        drill = True
    mine = [e for e in entries if e.drill == drill]
    wanted = in_effect(mine)
    out: list[Mapping[str, Any]] = [r for r in resources if r.get("resourceType") != "Encounter"]
    patient = adt.registered_patient(wanted)
    if patient is not None and not any(r.get("resourceType") == "Patient" for r in out):
        out.insert(0, patient)
    encounters = [r for r in resources if r.get("resourceType") == "Encounter"]
    out += adt.encounters_after(encounters, wanted)
    out += as_resources(mine, drill=drill, now=now, hours=hours, census_row=census_row)
    return out


def for_census_row(e: Entry) -> bool:
    """Whether a census row can show anything of what stands `e` (its allergies, its
    weight, the MAR of medication orders): not lab, imaging or nursing orders, notes, or
    vital signs without a weight (a census row shows none of them)."""
    if e.kind is Kind.ORDER:
        return e.payload.get("category") == "medication"
    if e.kind is Kind.VITALS:
        return e.payload.get("weight_kg") is not None
    return e.kind is not Kind.NOTE


def shown_at(entries: list[Entry], now: datetime, hours: float = 48) -> list[Entry]:
    """Of what stands (`in_effect`), in order, the entries a summary at `now` can show
    (`standby.fhir.summary.patient_summary` with its window of `hours`), so that weeks of
    downtime documentation are not all turned into resources at every view: allergies and
    orders, all; vital signs of the window, and the newest reading of each measurement
    before it (the summary's "latest"); administrations of the window (at least the MAR's
    24 h) and, before it, each order's last dose given; every note of the window, and
    those before it still among the newest the summary shows. The summary built from these is the
    one built from them all: tests/journal/test_journal_overlay.py checks it."""
    since = now - timedelta(hours=max(hours, MAR_HOURS))
    keep: set[str] = set()
    newest: dict[str, datetime] = {}  # what the summary reads as the newest, by slot
    older: list[tuple[str, Entry]] = []
    for e in entries:
        if e.kind not in (Kind.VITALS, Kind.ADMINISTRATION, Kind.NOTE) or e.performed_at >= since:
            keep.add(e.id)
            continue
        if e.kind is Kind.VITALS:  # the newest reading of each measurement
            slots = [f"vitals:{k}" for k in VITALS if e.payload.get(k) is not None]
        elif e.kind is Kind.ADMINISTRATION:  # each order's last dose given
            given = e.payload.get("status") == "given"
            slots = [f"given:{e.payload.get('request_id')}"] if given else []
        else:
            slots = ["note"]
        for slot in slots:
            older.append((slot, e))
    # the newest of each slot by the time it was done (ties: all of them); notes: as many
    # as the summary shows, counted from the newest of the window
    notes = sorted((e.performed_at for e in entries if e.kind is Kind.NOTE), reverse=True)[
        :NOTES_SHOWN
    ]
    for slot, e in older:
        if slot != "note" and e.performed_at > newest.get(slot, e.performed_at - timedelta(1)):
            newest[slot] = e.performed_at
    for slot, e in older:
        if slot == "note":
            if len(notes) < NOTES_SHOWN or e.performed_at >= notes[-1]:
                keep.add(e.id)
        elif e.performed_at == newest[slot]:
            keep.add(e.id)
    return [e for e in entries if e.id in keep]


def is_from_journal(resource: Mapping[str, Any]) -> bool:
    """Whether a resource was documented during downtime and is not yet in the EHR."""
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(
        t.get("system") == DOWNTIME_TAG["system"] and t.get("code") == DOWNTIME_TAG["code"]
        for t in tags
    )
