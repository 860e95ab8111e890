"""The one `Store` interface that every part of Standby reads and writes through.

Two engines implement it: `standby.store.sqlite.SQLiteStore` (embedded default: one file,
WAL, one writer, many readers) and `standby.store.postgres.PostgresStore` (psycopg 3).
Both pass one contract suite (tests/store/test_contract.py).

Two ways of writing, for two kinds of caller:

* **Replica writes** (`upsert`, `upsert_many`, `tombstone`): the resource arrives from a
  source EHR with its own `meta.versionId` / `meta.lastUpdated`. The body is kept verbatim
  (the exact JSON text, decimals included). A version already held is a no-op; an older
  version never overwrites a newer one. A checkpoint can be committed in the same
  transaction as the data it covers.
* **Authoritative writes** (`create`, `update`, `delete`): the store *is* the source of
  truth (the simulated EHR, and later the downtime journal's own resources). The store
  assigns `meta.versionId` (1, 2, 3, ...) and `meta.lastUpdated` and writes them into the
  body; `update` honours `if_match` (FHIR's If-Match, 412 on a stale version).

Packages other than the replica keep their operational state (accounts, audit, incidents,
sync progress) in the same database through `ensure_schema` and `transaction`, with
portable SQL using `?` placeholders (the PostgreSQL engine rewrites them).

FHIR search semantics: https://hl7.org/fhir/R4/search.html
"""

from __future__ import annotations

import enum
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import orjson

from standby.fhir import tolerant_json
from standby.fhir.gate import ReceivedResource, Refusal, admit

JSON = dict[str, Any]


class WriteOutcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the same version was already held
    STALE = "stale"  # an older version than the one held: ignored
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of one resource, as held by the store."""

    resource_type: str
    id: str
    version_id: str
    last_updated: str  # FHIR instant, e.g. 2026-11-28T10:15:00.123Z
    deleted: bool
    body: bytes  # verbatim JSON text; b"" for a tombstone

    def json(self) -> JSON:
        """The body parsed (numbers as floats: for display, never for writing back; a
        number beyond double range as its text, see `standby.fhir.tolerant_json`)."""
        return tolerant_json.loads(self.body) if self.body else {}

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True, slots=True)
class SearchPage:
    resources: list[StoredResource]
    total: int | None  # None when not counted


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    id: int
    at: str  # when it was set aside (instant)
    source: str  # e.g. "ingest", "sync:ehr"
    file: str | None  # file or URL it came from
    line: int | None  # 1-based line number in that file
    resource_type: str | None
    resource_id: str | None
    reason: str  # what was wrong, in words an operator understands
    excerpt: str  # the first bytes of the bad input (for diagnosis)


@dataclass(slots=True)
class IngestReport:
    lines: int = 0
    written: int = 0
    unchanged: int = 0
    quarantined: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of a schema. `postgres` defaults to `sqlite` when the SQL is portable.
    `data`, when given, runs after the SQL in the same transaction: a data migration that
    computes rows from the resources held when it is applied (the SQL may then be empty)."""

    version: int
    description: str
    sqlite: str
    postgres: str | None = None
    data: Callable[[Transaction], None] | None = None


def quarantine_fingerprint(
    source: str,
    reason: str,
    raw: bytes,
    resource_type: str | None,
    resource_id: str | None,
    line: int | None,
) -> str:
    """What makes two quarantine rows the same: the source, the reason, the type and id,
    and the bytes set aside (and, for bytes that name no resource, their line). A source
    that sends the same bad resource again (every round's overlap window, a seed run
    again) does not add a row."""
    h = hashlib.sha256()
    h.update(
        orjson.dumps([source, reason, resource_type, resource_id, None if resource_id else line])
    )
    h.update(raw)
    return h.hexdigest()


class Transaction(ABC):
    """Portable SQL inside one transaction (`?` placeholders on both engines)."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query; returns all rows."""


class StoreError(Exception):
    """Base class of the store's errors."""


class VersionConflict(StoreError):
    """`update` with `if_match` named a version that is no longer current (HTTP 412)."""


class ReadOnlyStore(StoreError):
    """A write reached a database that only reads: a PostgreSQL hot standby not (yet)
    promoted (docs/postgresql.md). Readers keep working; the caller says what waits."""


def admit_all(
    resources: Iterable[bytes | ReceivedResource], *, max_bytes: int
) -> list[ReceivedResource]:
    """What `upsert_many` writes: resources already through the gate as they are, raw
    bytes through it now (`standby.fhir.gate.admit`). ValueError with the gate's reason for
    the first bytes it refuses, naming the resource when it could be read."""
    out: list[ReceivedResource] = []
    for item in resources:
        if isinstance(item, ReceivedResource):
            out.append(item)
            continue
        got = admit(bytes(item), max_bytes=max_bytes)
        if isinstance(got, Refusal):
            named = "/".join(x for x in (got.resource_type, got.id) if x)
            raise ValueError(f"{named}: {got.reason}" if named else got.reason)
        out.append(got)
    return out


class Store(ABC):
    """The replica (and, for the simulated EHR, the source of truth)."""

    engine: str  # "sqlite", "postgres" or "memory"
    batch_size: int = 2000  # resources written per transaction by ingest and the seed
    max_resource_bytes: int = 16 * 1024 * 1024  # the gate's limit on one resource
    keeps_digest: bool = False  # keeps the per-patient digest (`standby.store.digest`)

    # ---- replica writes ---------------------------------------------------------------
    @abstractmethod
    def upsert_many(
        self,
        resources: Iterable[bytes | ReceivedResource],
        *,
        checkpoint: tuple[str, str] | None = None,
    ) -> list[WriteOutcome]:
        """Write resources received from a source, in one transaction.

        Each item is a resource that passed the gate (`standby.fhir.gate.admit`), written
        as it is: its `raw` text kept verbatim, its parsed `json` indexed, nothing parsed
        again; or the resource's JSON text, which passes the gate here first (`admit_all`:
        ValueError with the gate's reason, and nothing written).

        Version rules: if a version with the same `meta.versionId` (or, without one, the
        same `meta.lastUpdated`) is held, UNCHANGED; if the held version is newer (by
        lastUpdated, then numeric versionId), STALE; otherwise the new version becomes
        current and the previous one moves to history. A resource without meta gets
        versionId "1"-style numbering and lastUpdated = now in the store's columns (the
        body itself is not rewritten).
        `checkpoint=(stream, value)` is committed in the same transaction.
        """

    def upsert(self, resource: bytes | ReceivedResource) -> WriteOutcome:
        return self.upsert_many([resource])[0]

    @abstractmethod
    def tombstone(
        self,
        resource_type: str,
        id: str,
        *,
        version_id: str | None = None,
        last_updated: str | None = None,
        checkpoint: tuple[str, str] | None = None,
    ) -> WriteOutcome:
        """Record that the source deleted a resource (kept as a tombstone, history kept)."""

    def ingest_ndjson(
        self, stream: Iterable[bytes], *, file: str, source: str = "ingest"
    ) -> IngestReport:
        """Stream NDJSON lines into the store in batches; bad lines go to quarantine.

        Never holds the whole file. Every line passes the gate (`standby.fhir.gate.admit`:
        over max size, invalid UTF-8, malformed JSON, not an object, no or unknown
        resourceType, no valid id, meta not an object); bad lines are quarantined with the
        reason, file and 1-based line number, and ingest goes on: the one NDJSON loop,
        `standby.store.ingest.ingest_lines`, which every engine shares.
        """
        from standby.store.ingest import ingest_lines  # ingest builds on this module

        return ingest_lines(
            self,
            ((line, len(line)) for line in stream),
            file=file,
            source=source,
            max_bytes=self.max_resource_bytes,
            batch_size=self.batch_size,
        )

    # ---- authoritative writes (the store assigns versions) -----------------------------
    def create(self, resource: JSON) -> StoredResource:
        """Create with a server-assigned id if absent; versionId "1"."""
        return self._authoritative(resource, if_match=None)

    def update(self, resource: JSON, *, if_match: str | None = None) -> StoredResource:
        """Create-or-update by id; the next versionId. VersionConflict on a stale if_match."""
        if not isinstance(resource.get("id"), str):
            raise ValueError("update needs an id")
        return self._authoritative(resource, if_match=if_match)

    @abstractmethod
    def _authoritative(self, resource: JSON, *, if_match: str | None) -> StoredResource:
        """Write `resource` as the store's own new version (`store.version_rules.to_write`
        and `next_version`: the simulated EHR is the source of truth)."""

    @abstractmethod
    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        """Delete (tombstone with a new version). None if there was nothing to delete."""

    # ---- reads -----------------------------------------------------------------------
    @abstractmethod
    def read(self, resource_type: str, id: str) -> StoredResource | None:
        """Current version (a tombstone has deleted=True), or None if never held."""

    @abstractmethod
    def vread(self, resource_type: str, id: str, version_id: str) -> StoredResource | None:
        """One version, current or historic."""

    @abstractmethod
    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        """All versions, newest first."""

    @abstractmethod
    def changes_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        after_seq: int = 0,
    ) -> list[tuple[int, StoredResource]]:
        """Current versions changed after `since` (instant) and after sequence `after_seq`,
        oldest change first, with a monotonically increasing sequence number for paging.
        Tombstones included. Serves `_history?_since=` and bulk export `_since`."""

    @abstractmethod
    def versions_since(
        self,
        since: str | None,
        *,
        types: Sequence[str] | None = None,
        limit: int = 1000,
        before_seq: int | None = None,
    ) -> list[tuple[int, StoredResource]]:
        """Every version held (current and previous, tombstones included) whose lastUpdated
        is at or after `since` (instant) and whose change sequence is below `before_seq`,
        newest change first, with its sequence number for paging (a version keeps the
        sequence it was written with when a newer one replaces it). Serves type and system
        `_history` (http.html#history: every version, oldest last). Versions replaced before
        store migration 6 have no sequence and are left out (instance history has them)."""

    def last_seq(self) -> int | None:
        """The newest change's sequence number (0 when empty); None when the engine cannot
        say. With `change_marks`, what read caches follow."""
        return None

    def change_marks(
        self, after_seq: int, *, limit: int = 10000
    ) -> list[tuple[int, str, str, str | None]] | None:
        """What changed after sequence `after_seq`, oldest first: (seq, type, id, patient id
        of the current version; None for tombstones and resources outside any patient's
        compartment). Cheap when nothing changed (one indexed probe): read caches use it to
        drop exactly what changed. None when the engine cannot say (caches then stay off)."""
        return None

    @abstractmethod
    def search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        sort: Sequence[str] = (),
        count: int = 50,
        offset: int = 0,
        total: bool = False,
    ) -> SearchPage:
        """FHIR search over the index tables. `params` are (name[:modifier], value) pairs as in
        a query string (repeated names AND, commas OR). Sort names may start with "-".
        Unsupported parameters raise ValueError naming them. Tombstones never match."""

    def search_ids(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        sort: Sequence[str] = (),
        limit: int = 1000,
        bodies: int = 0,
    ) -> tuple[list[str], list[StoredResource]]:
        """The ids of the first `limit` matches of `search`, in its order, and the first
        `bodies` of them read, from one snapshot of the store: for a caller that keeps
        every match's id but sends few (the FHIR API's paging snapshot). This default
        reads every match through `search`; the SQL engines read only `bodies` bodies."""
        found = self.search(resource_type, params, sort=sort, count=limit).resources
        return [r.id for r in found], found[:bodies]

    @abstractmethod
    def compartment(
        self, patient_id: str, types: Sequence[str] | None = None
    ) -> list[StoredResource]:
        """Everything in one patient's compartment (the Patient itself included), one indexed
        lookup. Tombstones excluded."""

    @abstractmethod
    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        """Every current (non-deleted) resource of one type, streamed."""

    @abstractmethod
    def counts_by_type(self) -> dict[str, int]:
        """Current, non-deleted resources per type."""

    def held_types(self) -> frozenset[str]:
        """The types of which the store holds a current resource: what `counts_by_type`
        says is not zero, which an engine may find without counting every resource."""
        return frozenset(t for t, n in self.counts_by_type().items() if n > 0)

    # ---- quarantine, checkpoints -------------------------------------------------------
    @abstractmethod
    def quarantine(
        self,
        *,
        source: str,
        reason: str,
        raw: bytes,
        file: str | None = None,
        line: int | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        """Set bad input aside with the reason (raw kept; excerpt shown), once: a row with
        the same `quarantine_fingerprint` is not added again."""

    @abstractmethod
    def quarantined(self, *, since: str | None = None, limit: int = 100) -> list[QuarantineItem]:
        """Quarantined items, newest first."""

    def count_quarantined(self, *, since: str | None = None) -> int:
        """How many items were quarantined after `since` (for every page's header)."""
        return len(self.quarantined(since=since, limit=1_000_000))

    @abstractmethod
    def get_checkpoint(self, stream: str) -> str | None: ...

    @abstractmethod
    def set_checkpoint(self, stream: str, value: str) -> None: ...

    # ---- operational schemas of other packages ------------------------------------------
    @abstractmethod
    def ensure_schema(self, namespace: str, migrations: Sequence[Migration]) -> None:
        """Apply, in order and once each, the migrations of one namespace ("web", "monitor",
        "sync", ...). Safe to call at every start-up and from several processes."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction (the single writer on SQLite). Commits on success."""

    @abstractmethod
    def read_transaction(self) -> AbstractContextManager[Transaction]:
        """A read-only view (concurrent with the writer)."""

    def durable_transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction whose commit is on disk when it returns: for what is
        acknowledged to a person (the journal). Not nested in another transaction. The
        engines override it where their ordinary commit is not (SQLite's `synchronous=NORMAL`;
        PostgreSQL's `synchronous_commit` may be off on the server)."""
        return self.transaction()

    # ---- lifecycle ---------------------------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
