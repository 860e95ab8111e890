"""What the plan needs to know from the replica and the journal (the I/O beside the pure
plan): every journal entry, and the Encounter each transfer or discharge changed as the
clinician saw it (docs/recovery.md#the-version-the-clinician-saw).

The journal's transfer and discharge entries carry only the new bed or the disposition.
When an entry names the version it was made from (`encounter_version` in its payload),
that version is read from the replica's history; otherwise the version the replica held
at the entry's recorded time is taken (the newest whose `lastUpdated` is not after it):
during a downtime the replica does not change, so that is the version the clinician's
screen showed. When every version the replica holds is newer (the EHR changed it after
the entry was made), the oldest is taken: the EHR then refuses the update (412) and the
entry becomes a conflict, with nothing overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable

from standby.clock import parse_instant
from standby.journal import repository
from standby.journal.entries import Entry
from standby.recovery.plan import SEEN_VERSION_KEY, UPDATES, SeenVersion
from standby.store.base import Store


def journal(store: Store, *, page: int = 5000) -> list[Entry]:
    """Every journal entry, in the order written."""
    out: list[Entry] = []
    after = 0
    while True:
        got = repository.since(store, after, limit=page)
        if not got:
            return out
        out.extend(e for _, e in got)
        after = got[-1][0]


def seen_versions(store: Store, entries: Iterable[Entry]) -> dict[str, SeenVersion]:
    """For each transfer and discharge on an Encounter the replica holds: that Encounter
    as the clinician saw it (entry id → version)."""
    out: dict[str, SeenVersion] = {}
    for e in entries:
        if e.kind not in UPDATES or not e.encounter_id or e.encounter_id.startswith("journal-"):
            continue
        named = e.payload.get(SEEN_VERSION_KEY)
        if named:
            sr = store.vread("Encounter", e.encounter_id, str(named))
            if sr is not None and not sr.deleted:
                out[e.id] = SeenVersion(sr.version_id, sr.json(), "payload")
            continue
        versions = [sr for sr in store.history("Encounter", e.encounter_id) if not sr.deleted]
        before = [sr for sr in versions if parse_instant(sr.last_updated) <= e.recorded_at]
        # none before: it changed since the clinician saw it. The oldest version held is
        # then sent as the one seen, and the EHR's 412 makes the entry a conflict.
        chosen = before[0] if before else (versions[-1] if versions else None)
        if chosen is not None:
            out[e.id] = SeenVersion(chosen.version_id, chosen.json(), "replica")
    return out
