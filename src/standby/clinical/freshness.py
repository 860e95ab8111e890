"""How fresh the replica is: the newest `meta.lastUpdated` it holds.

The sync package knows better (its checkpoints and health: `standby.sync.status`), but the
read model may not import sync; callers that have the sync status pass it to the packets
as `data_as_of` themselves. This is the fallback when they do not.
"""

from __future__ import annotations

from datetime import datetime

from standby.fhir.display import parse_instant
from standby.store.base import Store


def data_as_of(store: Store) -> datetime | None:
    """The newest lastUpdated in the store (None for an empty store).

    Uses the engine's own `newest_last_updated()` when it has one; otherwise asks each
    resource type's search sorted by `-_lastUpdated` for one resource.
    """
    fn = getattr(store, "newest_last_updated", None)
    if callable(fn):
        value = fn()
        return parse_instant(value) if isinstance(value, str) else value
    newest: datetime | None = None
    for rt, n in store.counts_by_type().items():
        if not n:
            continue
        try:
            page = store.search(rt, [], sort=["-_lastUpdated"], count=1)
        except ValueError:
            continue
        for sr in page.resources:
            t = parse_instant(sr.last_updated)
            if t is not None and (newest is None or t > newest):
                newest = t
    return newest
