"""The hospital's directory as the read model needs it: Locations, Practitioners and their
roles (few, shared by every patient, outside any patient compartment), and which resource
types the replica holds. Cached per store for `TTL` seconds: a census of 40 beds must not
re-read 1,000 Locations forty times.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from standby.fhir import display as d
from standby.store.base import Store

JSON = Mapping[str, Any]
TTL = 60.0


@dataclass
class Directory:
    """Location and Practitioner resources by "Type/id", and the unit tree."""

    resolved: dict[str, JSON] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # Location id → child ids
    roles: dict[str, str] = field(default_factory=dict)  # Practitioner id → role text
    held_types: frozenset[str] = frozenset()
    loaded_at: float = 0.0
    derived: dict[str, Any] = field(default_factory=dict)  # worked out once per load

    def location(self, loc_id: str | None) -> JSON | None:
        return self.resolved.get(f"Location/{loc_id}") if loc_id else None

    def locations(self) -> list[JSON]:
        return [v for k, v in self.resolved.items() if k.startswith("Location/")]

    def subtree(self, loc_id: str) -> list[str]:
        """`loc_id` and every Location below it (rooms, beds)."""
        out, todo = [], [loc_id]
        while todo:
            x = todo.pop()
            out.append(x)
            todo.extend(self.children.get(x, []))
        return out

    def unit_of(self, loc_id: str | None) -> JSON | None:
        """The ward (`wi`) a Location belongs to (itself when it is one)."""
        seen = set()
        while loc_id and loc_id not in seen:
            seen.add(loc_id)
            loc = self.location(loc_id)
            if loc is None:
                return None
            if d.first_code(loc.get("physicalType")) == "wi":
                return loc
            loc_id = d.reference_id(loc.get("partOf"), "Location")
        return None


# id(store) → (a reference to the store, its directory). Keyed by identity, not by the
# store's hash, and weakly where the engine allows it, so a closed store is forgotten.
_cache: dict[int, tuple[Any, Directory]] = {}
_lock = threading.Lock()
_load_lock = threading.Lock()


def _ref(store: Store) -> Any:
    key = id(store)

    def forget(_r: object) -> None:
        _cache.pop(key, None)

    try:
        return weakref.ref(store, forget)
    except TypeError:  # an engine without weak references: hold it strongly
        return lambda: store


def directory(store: Store, *, ttl: float = TTL) -> Directory:
    """The cached directory of `store` (reloaded after `ttl` seconds)."""
    hit = _fresh(store, ttl)
    if hit is not None:
        return hit
    with _load_lock:  # one load at a time: fifty first page views share it
        hit = _fresh(store, ttl)
        if hit is not None:
            return hit
        fresh = load(store)
        with _lock:
            _cache[id(store)] = (_ref(store), fresh)
        return fresh


def _fresh(store: Store, ttl: float) -> Directory | None:
    with _lock:
        hit = _cache.get(id(store))
    if hit is not None and hit[0]() is store and time.monotonic() - hit[1].loaded_at < ttl:
        return hit[1]
    return None


def invalidate(store: Store) -> None:
    with _lock:
        _cache.pop(id(store), None)


def load(store: Store) -> Directory:
    out = Directory(loaded_at=time.monotonic())
    out.held_types = store.held_types()
    for rt in ("Location", "Practitioner", "Organization"):
        if rt not in out.held_types:
            continue
        for sr in store.iter_type(rt):
            body = sr.json()
            out.resolved[f"{rt}/{sr.id}"] = body
            if rt == "Location":
                parent = d.reference_id(body.get("partOf"), "Location")
                if parent:
                    out.children.setdefault(parent, []).append(sr.id)
    if "PractitionerRole" in out.held_types:
        for sr in store.iter_type("PractitionerRole"):
            body = sr.json()
            pid = d.reference_id(body.get("practitioner"), "Practitioner")
            if pid and pid not in out.roles:
                out.roles[pid] = d.concept_text(body.get("code"))
    return out
