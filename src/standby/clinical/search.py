"""Every resource a store search matches, page after page.

`Store.search` returns one page (`count` resources from `offset`); the read model often
needs all of them (a unit's encounters, a day's appointments, a patient's recent doses).
`every_match` asks for pages until one comes back short
([FHIR search, paging](https://hl7.org/fhir/R4/http.html#paging)).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from standby.store.base import Store, StoredResource


def every_match(
    store: Store, resource_type: str, params: Sequence[tuple[str, str]], *, page_size: int = 1000
) -> Iterator[StoredResource]:
    """The resources of `store.search(resource_type, params)`, every page of them, in the
    search's order. ValueError (a parameter the store does not index) is raised on the
    first `next()`, like the search's own."""
    offset = 0
    while True:
        page = store.search(resource_type, params, count=page_size, offset=offset)
        yield from page.resources
        if len(page.resources) < page_size:
            return
        offset += page_size
