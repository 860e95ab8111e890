"""A generated hospital loaded into a SQLite replica, cached per size, for benchmarks."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from standby.bench.harness import Progress


def cached_replica(
    cache: Path, beds: int, progress: Progress, *, now: datetime | None = None
) -> Path:
    """`cache/beds-N/replica.db`, built once: generate the hospital (seed 7), ingest it
    into a side file and rename it into place when complete."""
    from standby.sim.generate import generate_hospital
    from standby.store import open_store

    base = cache / f"beds-{beds}"
    db = base / "replica.db"
    if db.is_file():
        return db
    if base.exists():
        shutil.rmtree(base)
    data = base / "ndjson"
    data.mkdir(parents=True)
    progress.step(f"generating a hospital of {beds} beds")
    generate_hospital(beds, 7, data, now=now)
    tmp = base / "replica.tmp.db"
    store = open_store(db=tmp)
    try:
        for f in sorted(data.glob("*.ndjson")):
            progress.step(f"ingesting {f.name}")
            with f.open("rb") as fh:
                store.ingest_ndjson(fh, file=str(f))
    finally:
        store.close()
    tmp.rename(db)
    for suffix in ("-wal", "-shm"):
        side = Path(str(tmp) + suffix)
        if side.exists():
            side.rename(Path(str(db) + suffix))
    return db
