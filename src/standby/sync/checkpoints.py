"""Where the sync keeps its place: high-water marks (store checkpoints) and the census
membership table (`sync_census`, see `standby.sync.schema`).

Checkpoint streams are named here and nowhere else (`Streams`; values are FHIR instants of
the *source's* clock, line counts, or "done"):

* `sync:<source>:census:<Type>` — every census patient's `<Type>` changes up to here are held;
* `sync:<source>:type:<Type>` — every `<Type>` change up to here is held (shared types, and
  the `type` mode);
* `sync:<source>:bulk:job` / `:bulk:file:<url>` / `:bulk:since` — the seed (bulk_export.py);
* `sync:<source>:search-seed` — the seed by search is done;
* `sync:<source>:seed` — how the seed was made and why, once it is done (plan.py);
* `sync:<source>:plan` — the plan's seed method and why, as last made (status shows it);
* `sync:<source>:round-owner` — `host pid` of the process running the current round, so
  that status can tell a round still running from one whose process was killed.

A round's searches are grouped by what their success counts towards: a checkpoint stream,
or the full pull of some patients (`pull_group`, read back by `pulled_patients`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from standby.clock import instant, parse_instant
from standby.store.base import Store
from standby.sync.schema import ensure_sync_schema

_PULL = "pull:"


@dataclass(frozen=True)
class Streams:
    """The names of one source's checkpoint streams."""

    source: str

    @property
    def _prefix(self) -> str:
        return f"sync:{self.source}:"

    def census(self, resource_type: str) -> str:
        """Census patients' changes of one type are held up to this mark."""
        return f"{self._prefix}census:{resource_type}"

    def type(self, resource_type: str) -> str:
        """Every change of one type is held up to this mark."""
        return f"{self._prefix}type:{resource_type}"

    @property
    def bulk_job(self) -> str:
        """The status URL of the export in progress ("" when none)."""
        return f"{self._prefix}bulk:job"

    @property
    def bulk_since(self) -> str:
        """The transactionTime of the last completed export."""
        return f"{self._prefix}bulk:since"

    def bulk_file(self, url: str) -> str:
        """How many lines of one export file are held ("done" when all)."""
        return f"{self._prefix}bulk:file:{url}"

    @property
    def search_seed(self) -> str:
        """ "done" once the seed by search succeeded."""
        return f"{self._prefix}search-seed"

    @property
    def seed(self) -> str:
        """ "<method>: <why>" once a seed chosen by `auto` is done."""
        return f"{self._prefix}seed"

    @property
    def plan(self) -> str:
        return f"{self._prefix}plan"

    @property
    def round_owner(self) -> str:
        return f"{self._prefix}round-owner"

    def holds(self, stream: str) -> bool:
        """Whether `stream` is a checkpoint stream of this source."""
        return stream.startswith(self._prefix)


def pull_group(patients: Sequence[str]) -> str:
    """The group of the searches of one full pull of `patients`."""
    return _PULL + ",".join(patients)


def pulled_patients(group: str) -> list[str]:
    """The patients of a `pull_group` (empty for any other group)."""
    return group[len(_PULL) :].split(",") if group.startswith(_PULL) else []


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
