"""Bundle building for a FHIR server (pure): searchset, history, batch/transaction-response.

FHIR R4 bundle.html (Bundle.type, link, entry.search, entry.request, entry.response) and
http.html#history (history bundles carry request and response per entry).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

JSON = dict[str, Any]


def _links(links: Sequence[tuple[str, str]]) -> list[JSON]:
    return [{"relation": rel, "url": url} for rel, url in links]


def searchset(
    entries: Iterable[tuple[str, Any, str]],
    *,
    links: Sequence[tuple[str, str]],
    total: int | None = None,
) -> JSON:
    """A searchset; `entries` are (fullUrl, resource, mode "match" or "include"). A
    resource may be parsed JSON or anything the caller's serializer writes as it is (a
    server sends the stored bytes, so decimals keep their digits)."""
    b: JSON = {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "type": "searchset",
    }
    if total is not None:
        b["total"] = total
    b["link"] = _links(links)
    b["entry"] = [
        {"fullUrl": full, "resource": res, "search": {"mode": mode}} for full, res, mode in entries
    ]
    return b


def history_entry(
    full_url: str,
    resource: Any,
    *,
    resource_type: str,
    id: str,
    version_id: str,
    last_updated: str,
    deleted: bool,
    first_version: bool,
) -> JSON:
    """One history entry: resource (absent for a delete), request and response."""
    if deleted:
        request = {"method": "DELETE", "url": f"{resource_type}/{id}"}
        status = "204 No Content"
    elif first_version:
        request = {"method": "POST", "url": resource_type}
        status = "201 Created"
    else:
        request = {"method": "PUT", "url": f"{resource_type}/{id}"}
        status = "200 OK"
    e: JSON = {"fullUrl": full_url}
    if resource is not None and not deleted:
        e["resource"] = resource
    e["request"] = request
    e["response"] = {
        "status": status,
        "etag": f'W/"{version_id}"',
        "lastModified": last_updated,
    }
    return e


def history(entries: list[JSON], *, links: Sequence[tuple[str, str]], total: int | None) -> JSON:
    b: JSON = {"resourceType": "Bundle", "id": uuid.uuid4().hex, "type": "history"}
    if total is not None:
        b["total"] = total
    b["link"] = _links(links)
    b["entry"] = entries
    return b


def response_entry(
    status: str,
    *,
    location: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    resource: JSON | None = None,
    outcome: JSON | None = None,
) -> JSON:
    """One entry of a batch-response / transaction-response."""
    r: JSON = {"status": status}
    if location:
        r["location"] = location
    if etag:
        r["etag"] = etag
    if last_modified:
        r["lastModified"] = last_modified
    if outcome is not None:
        r["outcome"] = outcome
    e: JSON = {}
    if resource is not None:
        e["resource"] = resource
    e["response"] = r
    return e


def response_bundle(kind: str, entries: list[JSON]) -> JSON:
    """`kind` is "batch" or "transaction"; returns the matching *-response bundle."""
    return {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "type": f"{kind}-response",
        "entry": entries,
    }
