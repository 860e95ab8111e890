"""The replica a real downtime leaves, for `standby bench journal-load`: the EHR's charting
up to the declaration, the journal's after it.

The generated hospital is charted by the EHR up to the bench's instant, and the simulated
journal documents the same beds over the 4 weeks before it. Read together, the last 48
hours would hold the EHR's vital signs, doses and notes *and* the journal's: twice what a
summary shows, which is not what a nurse sees in a downtime (the replica stops hearing
of the EHR at the declaration; the journal takes over). So the downtime replica is the
same hospital ingested without what the EHR charted from the declaration on that the
journal documents in its place (`charted_after`: vital signs, medication administrations,
notes, lab/imaging/nursing orders), with the journal's entries added. What stays in it:
the patients, their encounters and medication orders (the simulation documents doses
against them; in a real 4-week downtime most of these stays would themselves be
journal admissions), allergies, conditions, and lab results (the journal carries none).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from standby.bench.harness import Progress
from standby.clock import parse_instant

JSON = Mapping[str, Any]


def _charted_at(resource: JSON) -> str | None:
    """When the EHR charted what the journal would document instead (None: not such)."""
    rtype = resource.get("resourceType")
    if rtype == "Observation":
        cats = {
            c.get("code") for cat in resource.get("category") or [] for c in cat.get("coding") or []
        }
        if "vital-signs" not in cats:
            return None  # lab results and the like: the journal does not carry them
        return resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get(
            "start"
        )
    if rtype == "MedicationAdministration":
        return resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get(
            "start"
        )
    if rtype == "DocumentReference":
        return resource.get("date")
    if rtype == "ServiceRequest":
        return resource.get("authoredOn")
    return None


def charted_after(resource: JSON, declared: datetime) -> bool:
    """Whether the EHR charted `resource` at or after `declared` and it is of what the
    journal documents during a downtime (vital signs, doses, notes, orders other than
    medication orders): the replica of a real downtime never heard of it."""
    at = _charted_at(resource)
    if at is None:
        return False
    if len(at) == 10:  # a date: charted on that day, from its start (UTC)
        at += "T00:00:00Z"
    return parse_instant(at) >= declared


def _lines(path: Path, declared: datetime) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            if line.strip() and not charted_after(orjson.loads(line), declared):
                yield line


def build(
    ndjson: Path, journal_db: Path, dst: Path, declared: datetime, progress: Progress
) -> None:
    """`dst`: the hospital in `ndjson` without what the EHR charted from `declared` on
    (`charted_after`), with every journal entry of `journal_db` (same order). Built in a
    side file, renamed into place when complete."""
    from standby.journal import bulk_load, schema
    from standby.store import open_store

    tmp = dst.with_suffix(".tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    store = open_store(db=tmp)
    src = open_store(db=journal_db)
    try:
        for f in sorted(ndjson.glob("*.ndjson")):
            progress.step(f"ingesting {f.name} as charted up to the declaration")
            store.ingest_ndjson(_lines(f, declared), file=str(f))
        schema.ensure(store)
        progress.step("copying the journal")
        bulk_load.copy_journal(src, store)
    finally:
        src.close()
        store.close()
    for suffix in ("-wal", "-shm"):
        side = Path(str(tmp) + suffix)
        if side.exists():
            side.rename(Path(str(dst) + suffix))
    shutil.move(tmp, dst)
