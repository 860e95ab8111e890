"""The sync under test, pointed at a `FhirSource`, and comparisons of its replica with what
the source serves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from standby.settings import Settings
from standby.store import Store, open_store
from standby.sync.runner import SyncRunner
from support.second_server.sources import FhirSource

PATIENT_TYPES = Settings().sync_patient_types
SHARED_TYPES = Settings().sync_shared_types


@contextmanager
def sync_against(source: FhirSource, work: Path, **overrides: Any) -> Iterator[SyncRunner]:
    """A `SyncRunner` over a fresh replica in `work`; settings as `standby sync` would have
    them, with short retries (the faults here are injected on purpose)."""
    settings = Settings(
        db=work / "replica.db",
        source_url=source.base_url,
        sync_timeout_seconds=10,
        sync_overlap_seconds=2,
        **overrides,
    )
    store = open_store(db=settings.db)
    runner = SyncRunner(settings, store)
    try:
        yield runner
    finally:
        runner.close()
        store.close()


def missing_or_different(
    source: FhirSource, store: Store, types: Iterable[str], *, exact_sample: int = 5
) -> dict[str, list[str]]:
    """Per type, what the source serves that the replica lacks or holds otherwise (JSON with
    decimals as written; and, for the first `exact_sample` ids of each type, the very bytes
    of a read), and what the replica holds that the source no longer has. Empty when the
    copy is exact."""
    out: dict[str, list[str]] = {}
    for rtype in types:
        wrong: list[str] = []
        served = {r["id"]: r for r in source.admin.search(rtype)}
        for n, (id, resource) in enumerate(sorted(served.items())):
            held = store.read(rtype, id)
            if held is None or not held.body:
                wrong.append(f"{id}: missing")
            elif json.loads(held.body, parse_float=Decimal) != resource:
                wrong.append(f"{id}: different content")
            elif (
                n < exact_sample and held.body != (source.admin.read_text(rtype, id) or "").encode()
            ):
                wrong.append(f"{id}: different bytes")
        for id in sorted(replica_ids(store, rtype) - served.keys()):
            wrong.append(f"{id}: still in the replica, gone from the source")
        if wrong:
            out[rtype] = wrong
    return out


def replica_ids(store: Store, rtype: str) -> set[str]:
    """Ids of the live (not deleted) resources of a type in the replica."""
    return {r.id for r in store.iter_type(rtype)}
