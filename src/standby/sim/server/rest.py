"""The FHIR RESTful rules (http.html) that the route modules and the entries of batch and
transaction Bundles share: known types, request bodies, reading the current version, the
match of a conditional create, writes with the store's refusals mapped to statuses,
`If-Match` versions, and the `_count`/`_offset` paging parameters. No HTTP here: these work
on the store and raise FhirError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from standby.fhir.gate import Refusal, admit
from standby.fhir.outcomes import FhirError
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store import Store, StoredResource, VersionConflict

MAX_COUNT = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024  # as the replica's default max_resource_bytes
DEFAULT_COUNT = 50
_VERSION_RE = re.compile(r'^(?:W/)?"?([^"]+)"?$')


def check_type(rtype: str) -> None:
    if rtype not in RESOURCE_TYPES:
        raise FhirError("not-supported", f"unknown resource type {rtype!r}", status=404)


def parse_body(raw: bytes, rtype: str, *, to_create: bool = False) -> dict[str, Any]:
    """The resource a create or an update sent, through the one gate
    (`standby.fhir.gate.admit`): 400 with the gate's reason when it is not a storable
    `rtype` (https://hl7.org/fhir/R4/http.html#update: the body's type must be the URL's)."""
    got = admit(raw, max_bytes=MAX_BODY_BYTES, expected_type=rtype, to_create=to_create)
    if isinstance(got, Refusal):
        raise FhirError("structure", f"body refused: {got.reason}", status=400)
    return got.json


def read_current(store: Store, rtype: str, id: str) -> StoredResource:
    """The current version of `rtype/id` (http.html#read): 404 unknown, 410 deleted."""
    check_type(rtype)
    sr = store.read(rtype, id)
    if sr is None:
        raise FhirError("not-found", f"{rtype}/{id} is not known")
    if sr.deleted:
        raise FhirError(
            "deleted", f"{rtype}/{id} was deleted", headers={"ETag": f'W/"{sr.version_id}"'}
        )
    return sr


def conditional_match(store: Store, rtype: str, query: str) -> StoredResource | None:
    """The one resource an `If-None-Exist` query matches (http.html#ccreate), None for
    none; 412 when it matches several."""
    params = parse_qsl(query.split("?", 1)[-1], keep_blank_values=True)
    try:
        page = store.search(rtype, params, count=2)
    except ValueError as e:
        raise FhirError("invalid", f"If-None-Exist not supported: {e}") from e
    if len(page.resources) > 1:
        raise FhirError("multiple-matches", f"If-None-Exist {query!r} matches several")
    return page.resources[0] if page.resources else None


def write(fn: Callable[[], StoredResource]) -> StoredResource:
    """Run a store write: a stale `If-Match` is 412, a resource the store rejects 422."""
    try:
        return fn()
    except VersionConflict as e:
        raise FhirError("conflict", f"version conflict: {e}", status=412) from e
    except ValueError as e:
        raise FhirError("processing", f"resource rejected: {e}", status=422) from e


def if_match_version(header: str | None) -> str | None:
    """The versionId of an `If-Match` ETag (`W/"3"`), None when there is no header."""
    if not header:
        return None
    m = _VERSION_RE.match(header.strip())
    if not m:
        raise FhirError("invalid", f"If-Match is not an ETag: {header!r}")
    return m.group(1)


def page_count(params: list[tuple[str, str]]) -> int:
    """`_count`, at most MAX_COUNT; DEFAULT_COUNT when absent."""
    for k, v in params:
        if k == "_count":
            try:
                n = int(v)
            except ValueError as e:
                raise FhirError("invalid", f"_count must be an integer: {v!r}") from e
            if n < 0:
                raise FhirError("invalid", "_count must be >= 0")
            return min(n, MAX_COUNT)
    return DEFAULT_COUNT


def page_offset(params: list[tuple[str, str]]) -> int:
    """`_offset` (or HAPI's `_getpagesoffset`), 0 when absent."""
    for k, v in params:
        if k in ("_offset", "_getpagesoffset"):
            try:
                return max(0, int(v))
            except ValueError as e:
                raise FhirError("invalid", f"{k} must be an integer") from e
    return 0
