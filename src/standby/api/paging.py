"""Search results that page the same while the replica changes underneath.

The sync writes into the replica while a client pages, so "page 2" counted by offset over
the live tables would skip or repeat resources as they are inserted before the cursor or
move when they change. As HAPI does (its search result cache), the first page of a search
that needs more than one takes a snapshot: the list of every match, in order (`type/id`),
kept in `fhir_api_snapshots` under a random id, with the replica's change sequence then.
The `next` link names the snapshot and an offset; later pages read their slice of the list.
So the pages of one search hold each match of the first page's moment exactly once, in
that order, and nothing else. Each resource is sent as it is now (the newest version: a
downtime reader wants the freshest value), and one deleted since is left out (a deletion
is often the correction of something entered in error). Snapshots belong to the client
that made them and are dropped after `SNAPSHOT_SECONDS`; a client keeps its newest
`MAX_SNAPSHOTS_PER_CLIENT` (an older one's pages answer 410 like an expired one's).

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

SNAPSHOT_LIMIT = 10_000
SNAPSHOT_SECONDS = 3600
#: snapshots one client keeps (its newest): a client asking for more cannot fill the disk
MAX_SNAPSHOTS_PER_CLIENT = 100


@dataclass(frozen=True, slots=True)
class Page:
    resources: list[StoredResource]
    total: int
    snapshot: str | None  # the id the `next` link names (None: one page holds everything)
    offset: int


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
        found = store.search(resource_type, criteria, sort=sort, count=SNAPSHOT_LIMIT + 1)
    except ValueError as e:
        raise FhirError("invalid", f"search not supported: {e}") from e
    matches = found.resources
    if len(matches) > SNAPSHOT_LIMIT:
        raise FhirError(
            "too-costly",
            f"more than {SNAPSHOT_LIMIT} {resource_type} resources match: narrow the search"
            " (a patient, a date range) or seed a copy with bulk export",
            status=422,
        )
    if len(matches) <= count:
        return Page(matches, len(matches), None, 0)
    keys = [(r.resource_type, r.id) for r in matches]
    snapshot = secrets.token_urlsafe(18)
    schema.ensure(store)
    with store.transaction() as tx:
        tx.execute(
            "DELETE FROM fhir_api_snapshots WHERE created < ?", (time.time() - SNAPSHOT_SECONDS,)
        )
        tx.execute(
            "INSERT INTO fhir_api_snapshots (id, client_id, created, seq, entries)"
            " VALUES (?, ?, ?, ?, ?)",
            (snapshot, client_id, time.time(), seq, orjson.dumps(keys).decode()),
        )
        tx.execute(
            "DELETE FROM fhir_api_snapshots WHERE client_id = ? AND id NOT IN (SELECT id"
            " FROM fhir_api_snapshots WHERE client_id = ? ORDER BY created DESC, id LIMIT ?)",
            (client_id, client_id, MAX_SNAPSHOTS_PER_CLIENT),
        )
    return Page(matches[:count], len(matches), snapshot, 0)


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
    keys: list[list[str]] = orjson.loads(rows[0][0])
    if any(rtype != resource_type for rtype, _ in keys[:1]):
        raise FhirError(
            "invalid", f"this page belongs to a search of {keys[0][0]}, not {resource_type}"
        )
    out: list[StoredResource] = []
    for rtype, rid in keys[offset : offset + count]:
        sr = store.read(rtype, rid)
        if sr is not None and not sr.deleted:
            out.append(sr)
    return Page(out, len(keys), snapshot, offset)
