"""Where the sync keeps its place: high-water marks (store checkpoints) and the census
membership table (`sync_census`, see `standby.sync.schema`).

Checkpoint streams (values are FHIR instants of the *source's* clock, or line offsets):

* `sync:<source>:census:<Type>` — every census patient's `<Type>` changes up to here are held;
* `sync:<source>:type:<Type>` — every `<Type>` change up to here is held (shared types, and
  the `type` mode);
* `sync:<source>:bulk:job` / `:bulk:file:<url>` / `:bulk:since` — the seed (bulk_export.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from standby.clock import instant, parse_instant
from standby.store.base import Store
from standby.sync.schema import ensure_sync_schema


def load_hwms(store: Store, streams: Iterable[str]) -> dict[str, str | None]:
    return {s: store.get_checkpoint(s) or None for s in streams}


def load_census(store: Store, source: str) -> dict[str, tuple[datetime, bool]]:
    """Patients on this source's census → (last seen on it, full pull done)."""
    ensure_sync_schema(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT patient_id, last_seen, pulled FROM sync_census WHERE source = ?", (source,)
        )
    out: dict[str, tuple[datetime, bool]] = {}
    for pid, seen, pulled in rows:
        t = parse_instant(seen)
        if t is not None:
            out[str(pid)] = (t, bool(pulled))
    return out


def save_census(
    store: Store,
    source: str,
    current: Mapping[str, str],
    dropped: Iterable[str],
    now: datetime,
) -> None:
    """Mark everyone on the census now as seen; forget those kept past their time."""
    ensure_sync_schema(store)
    at = instant(now)
    with store.transaction() as tx:
        for pid, reason in current.items():
            n = tx.execute(
                "UPDATE sync_census SET last_seen = ?, reason = ?"
                " WHERE source = ? AND patient_id = ?",
                (at, reason, source, pid),
            )
            if n == 0:
                tx.execute(
                    "INSERT INTO sync_census (source, patient_id, reason, first_seen, last_seen,"
                    " pulled) VALUES (?, ?, ?, ?, ?, 0)",
                    (source, pid, reason, at, at),
                )
        for pid in dropped:
            tx.execute("DELETE FROM sync_census WHERE source = ? AND patient_id = ?", (source, pid))


def mark_pulled(store: Store, source: str, patients: Iterable[str]) -> None:
    with store.transaction() as tx:
        for pid in patients:
            tx.execute(
                "UPDATE sync_census SET pulled = 1 WHERE source = ? AND patient_id = ?",
                (source, pid),
            )


def mark_all_pulled(store: Store, source: str) -> None:
    """After a seed, everyone already on the census is covered up to the seed's time."""
    ensure_sync_schema(store)
    with store.transaction() as tx:
        tx.execute("UPDATE sync_census SET pulled = 1 WHERE source = ?", (source,))
