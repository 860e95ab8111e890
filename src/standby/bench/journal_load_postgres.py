"""`standby bench journal-load` on PostgreSQL (when STANDBY_TEST_POSTGRES_URL or the setting
`database_url` is set): the same two replicas as the SQLite files, each in a schema of
its own, built once and reused (named by size and the journal's schema version; a
schema that is not complete is built again).

The baseline is the hospital as the EHR charted it up to the bench's instant; the
downtime's replica is the same hospital without what the EHR charted after the
declaration (`downtime_replica.charted_after`) with the journal copied from the SQLite
file (same entries, same order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from standby.bench.harness import Progress

READY = "bench-journal-load-ready"  # checkpoint set when a schema is complete


def replicas(
    url: str, beds: int, bare_db: Path, full_db: Path, progress: Progress
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Openers of a new store on the baseline's schema and on the downtime's."""
    from standby.journal import schema
    from standby.store.postgres import PostgresStore

    version = max(m.version for m in schema.MIGRATIONS)
    names = (f"bench_jl_bare_b{beds}_j{version}", f"bench_jl_downtime_b{beds}_j{version}")
    for name, db in zip(names, (bare_db, full_db), strict=True):
        store = PostgresStore(url, schema=name)
        try:
            ready = store.get_checkpoint(READY) == "yes"
        finally:
            store.close()
        if not ready:
            _build(url, name, db, progress)
    return (
        lambda: PostgresStore(url, schema=names[0]),
        lambda: PostgresStore(url, schema=names[1]),
    )


def _build(url: str, name: str, db: Path, progress: Progress) -> None:
    """Schema `name`, made anew: the SQLite replica `db`'s resources as the file holds
    them, then its journal (same entries, same order)."""
    import psycopg

    from standby.journal import bulk_load
    from standby.store import open_store
    from standby.store.postgres import PostgresStore

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    dst = PostgresStore(url, schema=name)
    src = open_store(db=db)
    try:
        progress.step(f"PostgreSQL: loading {db.name} into schema {name}")
        batch: list[bytes] = []
        for rtype in sorted(src.counts_by_type()):
            for sr in src.iter_type(rtype):
                if not sr.deleted:
                    batch.append(sr.body)
                if len(batch) >= 2000:
                    dst.upsert_many(batch)
                    batch = []
        if batch:
            dst.upsert_many(batch)
        progress.step(f"PostgreSQL: copying the journal into schema {name} (COPY)")
        bulk_load.copy_journal(src, dst)
        dst.set_checkpoint(READY, "yes")
    finally:
        src.close()
        dst.close()
