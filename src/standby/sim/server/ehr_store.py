"""The simulated EHR's store: `DIR/ehr.db`, filled from the generated hospital's
`DIR/*.ndjson` the first time, with `Group/inpatients` for Group-level `$export`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from standby.store import Store, open_store

GROUP_ID = "inpatients"


def load_store(data_dir: Path, progress: Callable[[int, int], None] | None = None) -> Store:
    """`DIR/ehr.db`, filled from `DIR/*.ndjson` the first time, with `Group/inpatients`
    (the patients of in-progress inpatient Encounters) for Group-level export.
    `progress(bytes_done, bytes_total)` is called after each file."""
    final = data_dir / "ehr.db"
    if not final.exists():
        # Load into a side file and rename it when complete, so an interrupted first start
        # never leaves a half-loaded EHR behind that later starts would take as whole.
        partial = data_dir / "ehr.db.partial"
        for stale in data_dir.glob("ehr.db.partial*"):
            stale.unlink()
        loading = open_store(db=partial)
        paths = sorted(data_dir.glob("*.ndjson"))
        total = sum(p.stat().st_size for p in paths)
        done = 0
        for path in paths:
            with open(path, "rb") as fh:
                loading.ingest_ndjson(fh, file=path.name, source="sim")
            done += path.stat().st_size
            if progress is not None:
                progress(done, total)
        loading.close()
        os.replace(partial, final)
    store = open_store(db=final)
    if store.read("Group", GROUP_ID) is None:
        ensure_inpatient_group(store)
    return store


def ensure_inpatient_group(store: Store) -> None:
    members: list[str] = []
    for sr in store.iter_type("Encounter"):
        enc = sr.json()
        if enc.get("status") != "in-progress":
            continue
        if (enc.get("class") or {}).get("code") not in ("IMP", "ACUTE"):
            continue
        ref = (enc.get("subject") or {}).get("reference", "")
        if ref.startswith("Patient/") and ref not in members:
            members.append(ref)
    store.update(
        {
            "resourceType": "Group",
            "id": GROUP_ID,
            "type": "person",
            "actual": True,
            "name": "Current inpatients",
            "quantity": len(members),
            "member": [{"entity": {"reference": r}} for r in members],
        }
    )


SQLITE_MEMORY_MB = 64


def limit_sqlite_memory(store: Store, megabytes: int = SQLITE_MEMORY_MB) -> int:
    """Cap the memory SQLite uses in this whole process (a soft heap limit: page caches are
    recycled beyond it). The server reads on a pool of threads, one connection each, and
    every connection's page cache would otherwise grow to its own 32 MB as the live change
    feed writes new pages: the simulated EHR's memory then rose for hours before levelling
    off. Call it in the server's own process only (the limit is process-wide). Returns the
    limit in bytes as SQLite now holds it."""
    from standby.store.sqlite import limit_memory

    return limit_memory(store, megabytes)
