"""What the feed writer reads of the replica, for a whole batch of messages at once: the
ids held for identifiers, and which ids are held (FHIR search with comma-separated
values, https://hl7.org/fhir/R4/search.html#combining, so any store engine answers; the
SQL engines answer the identifiers from their token index alone, `SQLReads.ids_by_token`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from standby.fhir.data_source import identifiers
from standby.store.base import Store
from standby.store.sql_reads import SQLReads

CHUNK = 200  # values in one search


def _chunks(values: Iterable[str], size: int = CHUNK) -> Iterable[list[str]]:
    ordered = sorted(values)
    for k in range(0, len(ordered), size):
        yield ordered[k : k + size]


def _escape(text: str) -> str:
    """A comma inside a value of a search parameter (search.html#escaping)."""
    return text.replace(",", "\\,")


def held_by_identifier(
    store: Store, resource_type: str, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(system, value) -> the id of the current resource of this type with that identifier;
    of several, the first the store's search gives (as `identifier=system|value` would)."""
    if isinstance(store, SQLReads):
        return store.ids_by_token(resource_type, "identifier", pairs)
    return _searched(store, resource_type, pairs)


def _searched(
    store: Store, resource_type: str, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """`held_by_identifier` by FHIR search (each match's body read for its identifiers)."""
    found: dict[tuple[str, str], str] = {}
    wanted = set(pairs)
    by_text = {f"{_escape(s)}|{_escape(v)}": (s, v) for s, v in wanted}
    for chunk in _chunks(by_text):
        offset = 0
        while True:
            page = store.search(
                resource_type, [("identifier", ",".join(chunk))], count=CHUNK, offset=offset
            )
            for held in page.resources:
                for pair in identifiers(held.json()):
                    if pair in wanted and pair not in found:
                        found[pair] = held.id
            if len(page.resources) < CHUNK:
                break
            offset += CHUNK
    return found


def held_ids(store: Store, resource_type: str, ids: Collection[str]) -> set[str]:
    """Which of these ids of a type the replica holds (current, not deleted)."""
    out: set[str] = set()
    for chunk in _chunks(ids):
        page = store.search(resource_type, [("_id", ",".join(chunk))], count=len(chunk))
        out.update(held.id for held in page.resources)
    return out
