"""Search results that page the same while the replica changes underneath.

The sync writes into the replica while a client pages, so "page 2" counted by offset over
the live tables would skip or repeat resources as they are inserted before the cursor or
move when they change. As HAPI does (its search result cache), the first page of a search
that needs more than one takes a snapshot: the list of every match, in order (the type on
the first line, then one id a line; only the first page's bodies are read), kept in
`fhir_api_snapshots` under a random id, with the replica's change sequence then. The row
is written in the transaction of the search's audit line (`access.record(beside=)`, the
app's group commit), which commits before the page is sent: one commit, not two.
The `next` link names the snapshot and an offset; later pages read their slice of the list.
So the pages of one search hold each match of the first page's moment exactly once, in
that order, and nothing else. Each resource is sent as it is now (the newest version: a
downtime reader wants the freshest value), and one deleted since is left out (a deletion
is often the correction of something entered in error). Snapshots belong to the client
that made them and are dropped after `SNAPSHOT_SECONDS` (expired rows are deleted by the
next first page at most once a minute per process; a later page checks the age itself); a
client keeps its newest `MAX_SNAPSHOTS_PER_CLIENT` (an older one's pages answer 410 like an
expired one's).

A search that matches more than `SNAPSHOT_LIMIT` resources is refused with advice
(narrow it, or seed with bulk export): snapshotting it would cost more than the answer.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import orjson

from standby.api import schema
from standby.fhir.outcomes import FhirError
from standby.store.base import Store, StoredResource
from standby.store.group_commit import Alongside

SNAPSHOT_LIMIT = 10_000
SNAPSHOT_SECONDS = 3600
#: snapshots one client keeps (its newest): a client asking for more cannot fill the disk
MAX_SNAPSHOTS_PER_CLIENT = 100
PURGE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Page:
    resources: list[StoredResource]
    total: int
    snapshot: str | None  # the id the `next` link names (None: one page holds everything)
    offset: int
    # a first page's snapshot, to be written with its audit line (`access.record(beside=)`)
    writes: tuple[Alongside, ...] = ()


def first_page(
    store: Store,
    client_id: str,
    resource_type: str,
    criteria: list[tuple[str, str]],
    sort: list[str],
    count: int,
) -> Page:
    """The first `count` matches; a snapshot of all of them when there are more."""
    seq = store.last_seq()  # before the search: the snapshot is at least this fresh
    try:
        ids, first = store.search_ids(
            resource_type, criteria, sort=sort, limit=SNAPSHOT_LIMIT + 1, bodies=count
        )
    except ValueError as e:
        raise FhirError("invalid", f"search not supported: {e}") from e
    if len(ids) > SNAPSHOT_LIMIT:
        raise FhirError(
            "too-costly",
            f"more than {SNAPSHOT_LIMIT} {resource_type} resources match: narrow the search"
            " (a patient, a date range) or seed a copy with bulk export",
            status=422,
        )
    if len(ids) <= count:
        return Page(first, len(ids), None, 0)
    snapshot = secrets.token_urlsafe(18)
    schema.ensure(store)
    insert = Alongside(
        "INSERT INTO fhir_api_snapshots (id, client_id, created, seq, entries)"
        " VALUES (?, ?, ?, ?, ?)",
        (snapshot, client_id, time.time(), seq, entries_text(resource_type, ids)),
    )
    cap = Alongside(  # the client's newest snapshots only: its older ones answer 410
        "DELETE FROM fhir_api_snapshots WHERE client_id = ? AND id NOT IN (SELECT id"
        " FROM fhir_api_snapshots WHERE client_id = ? ORDER BY created DESC, id LIMIT ?)",
        (client_id, client_id, MAX_SNAPSHOTS_PER_CLIENT),
    )
    return Page(first, len(ids), snapshot, 0, (*_purge(), insert, cap))


_purged = [0.0]  # when this process last dropped expired snapshots (monotonic)


def _purge() -> tuple[Alongside, ...]:
    """The delete of expired snapshots, at most once every `PURGE_SECONDS` per process."""
    now = time.monotonic()
    if now - _purged[0] < PURGE_SECONDS:
        return ()
    _purged[0] = now
    return (
        Alongside(
            "DELETE FROM fhir_api_snapshots WHERE created < ?", (time.time() - SNAPSHOT_SECONDS,)
        ),
    )


def entries_text(resource_type: str, ids: list[str]) -> str:
    """A snapshot's list as stored: the type, then one id a line (a FHIR id holds no line
    break; a list with one that does is kept as JSON pairs, as snapshots once all were)."""
    if any("\n" in i for i in ids):
        return orjson.dumps([(resource_type, i) for i in ids]).decode()
    return "\n".join([resource_type, *ids])


def entries_of(text: str) -> tuple[str | None, list[str]]:
    """(type, ids) of a stored list (None: an empty JSON list)."""
    if text.startswith("["):
        pairs: list[list[str]] = orjson.loads(text)
        return (pairs[0][0] if pairs else None), [rid for _, rid in pairs]
    rtype, _, rest = text.partition("\n")
    return rtype, rest.split("\n") if rest else []


def later_page(
    store: Store, client_id: str, resource_type: str, snapshot: str, offset: int, count: int
) -> Page:
    """The slice `[offset, offset + count)` of a snapshot, each resource as it is now. Only
    for the client and the type searched (a scope checked on another type opens nothing)."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT entries, created FROM fhir_api_snapshots WHERE id = ? AND client_id = ?",
            (snapshot, client_id),
        )
    if not rows or float(rows[0][1]) < time.time() - SNAPSHOT_SECONDS:
        raise FhirError(
            "not-found",
            "this page's search has expired or is unknown: search again from the first page",
            status=410,
        )
    stype, ids = entries_of(rows[0][0])
    if ids and stype != resource_type:
        raise FhirError("invalid", f"this page belongs to a search of {stype}, not {resource_type}")
    return Page(
        current(store, resource_type, ids[offset : offset + count]), len(ids), snapshot, offset
    )


def current(store: Store, resource_type: str, ids: list[str]) -> list[StoredResource]:
    """The current versions of `ids`, in that order, leaving out those deleted since: one
    search by `_id` (a FHIR id holds no comma), else one read each."""
    if not ids:
        return []
    if any("," in i or "\\" in i for i in ids):
        found = [store.read(resource_type, i) for i in ids]
        return [sr for sr in found if sr is not None and not sr.deleted]
    page = store.search(resource_type, [("_id", ",".join(ids))], count=len(ids))
    by_id = {sr.id: sr for sr in page.resources}  # tombstones never match a search
    return [by_id[i] for i in ids if i in by_id]
