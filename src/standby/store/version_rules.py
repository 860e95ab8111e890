"""The replica's version rules (pure): which of two versions of a resource is current.

A resource from a source carries its own `meta.versionId` and `meta.lastUpdated`
(https://hl7.org/fhir/R4/resource.html#Meta). Receiving the version already held changes
nothing (UNCHANGED); an older one than held is ignored (STALE), so a late or repeated
answer can never undo a newer change; anything else becomes current (CREATED, UPDATED, or
DELETED for a tombstone). Versions are ordered by lastUpdated, then by numeric versionId.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from standby.fhir.gate import ReceivedResource
from standby.fhir.search_params import date_range
from standby.store.base import StoredResource, VersionConflict, WriteOutcome

# A held row: (rid, type, id, version_id, last_updated, lu, deleted); `lu` is
# last_updated in milliseconds since the epoch.
HELD_COLUMNS = "rid, type, id, version_id, last_updated, lu, deleted"


def lu_ms(instant: str) -> int:
    """An instant in milliseconds since the epoch (0 when unreadable)."""
    rng = date_range(instant)
    return rng[0] if rng else 0


def version_number(version_id: str) -> int:
    """A versionId as a number (0 when it is not one)."""
    try:
        return int(version_id)
    except ValueError:
        return 0


def newest_first(versions: list[StoredResource]) -> list[StoredResource]:
    """A resource's versions, the current one first (the order of `_history`)."""
    return sorted(
        versions, key=lambda s: (lu_ms(s.last_updated), version_number(s.version_id)), reverse=True
    )


def decide(
    version_id: str | None,
    last_updated: str | None,
    tombstone: bool,
    held: Sequence[Any] | None,
    stamp: str,
    stamp_ms: int,
) -> tuple[WriteOutcome, str, str, int]:
    """The outcome of receiving one version, and the version to write:
    (outcome, versionId, lastUpdated, lastUpdated in ms). Nothing is written for UNCHANGED
    and STALE. Without a versionId the next number after the held one is used; without a
    lastUpdated, `stamp` (the store's clock; `stamp_ms` in ms)."""
    lu = lu_ms(last_updated) if last_updated else None
    if held is not None:
        h_vid, h_lu_text, h_lu, h_deleted = held[3], held[4], held[5], held[6]
        same = (version_id is not None and version_id == h_vid) or (
            version_id is None and last_updated is not None and last_updated == h_lu_text
        )
        if same or (tombstone and h_deleted and version_id is None and last_updated is None):
            return WriteOutcome.UNCHANGED, h_vid, h_lu_text, h_lu
        if lu is not None and (lu, version_number(version_id or "0")) < (
            h_lu,
            version_number(h_vid),
        ):
            return WriteOutcome.STALE, h_vid, h_lu_text, h_lu
        if (
            lu is None
            and version_id is not None
            and version_number(version_id) < version_number(h_vid)
        ):  # no lastUpdated to go by: a lower version number is an older version
            return WriteOutcome.STALE, h_vid, h_lu_text, h_lu
    if version_id is None:
        version_id = str(version_number(held[3]) + 1) if held is not None else "1"
    if last_updated is None or lu is None:
        last_updated, lu = stamp, stamp_ms
    if tombstone:
        return WriteOutcome.DELETED, version_id, last_updated, lu
    return (
        WriteOutcome.UPDATED if held is not None else WriteOutcome.CREATED,
        version_id,
        last_updated,
        lu,
    )


# ---- authoritative writes: the store itself assigns the version (the simulated EHR) ----


def to_write(resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The type of a resource to create or update, and a copy of it with an id (a new UUID
    when it has none: https://hl7.org/fhir/R4/http.html#create)."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise ValueError("no resourceType")
    res = dict(resource)
    if not isinstance(res.get("id"), str) or not res["id"]:
        res["id"] = str(uuid.uuid4())
    return rtype, res


def next_version(
    rtype: str,
    res: dict[str, Any],
    held: tuple[str, bool] | None,
    if_match: str | None,
    stamp: str,
) -> ReceivedResource:
    """The version an authoritative write makes, given the held one (its versionId and
    whether it is deleted; None when there is none): the next number, `stamp` as its
    lastUpdated, both in `meta`. With `if_match` (an ETag, https://hl7.org/fhir/R4/http.html#concurrency),
    VersionConflict unless it names the current version."""
    if if_match is not None:
        want = if_match.strip()
        want = (want[2:] if want.startswith("W/") else want).strip('"')
        if held is None or held[1] or held[0] != want:
            raise VersionConflict(f"{rtype}/{res['id']}: version {want} is not the current version")
    vid = str(version_number(held[0]) + 1) if held is not None else "1"
    res["meta"] = {**(res.get("meta") or {}), "versionId": vid, "lastUpdated": stamp}
    return ReceivedResource(orjson.dumps(res), res, rtype, res["id"], vid, stamp)
