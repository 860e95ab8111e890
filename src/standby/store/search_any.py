"""Every current resource of a type that matches any of many values of one search parameter,
in a few searches (comma-separated values, https://hl7.org/fhir/R4/search.html#combining),
paged to the end: what a batch of writes needs to read ahead, on any store engine."""

from __future__ import annotations

from collections.abc import Collection

from standby.store.base import Store, StoredResource

CHUNK = 100  # values in one search
PAGE = 500


def search_any(
    store: Store, resource_type: str, param: str, values: Collection[str]
) -> list[StoredResource]:
    out: list[StoredResource] = []
    ordered = sorted({v.replace(",", "\\,") for v in values})
    for k in range(0, len(ordered), CHUNK):
        chunk = ordered[k : k + CHUNK]
        offset = 0
        while True:
            page = store.search(
                resource_type, [(param, ",".join(chunk))], count=PAGE, offset=offset
            )
            out.extend(page.resources)
            if len(page.resources) < PAGE:
                break
            offset += PAGE
    return out
