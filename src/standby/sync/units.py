"""Which census entries an edge node keeps: those of its units (pure).

An edge node copies its units' patients, not the hospital: an Encounter in progress
whose location lies in one of the units (the ward itself, or a room or bed below it) puts
its patient on the census; an Encounter finished on the unit keeps its patient as
discharged; an Appointment adds no one (an outpatient is on no unit), though the
patients' own appointments come with their compartments. The units are named as the
viewer names them: alias ("3W"), name ("3 West") or Location id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

JSON = Mapping[str, Any]


def _ref_id(value: Any) -> str | None:
    ref = value.get("reference") if isinstance(value, Mapping) else None
    if isinstance(ref, str) and ref.startswith("Location/"):
        return ref.split("/", 2)[1] or None
    return None


def _names(loc: JSON) -> set[str]:
    out = {str(loc.get("id") or ""), str(loc.get("name") or "")}
    out.update(str(a) for a in loc.get("alias") or [])
    return {n.strip().casefold() for n in out if n.strip()}


def unit_locations(locations: Iterable[JSON], units: Sequence[str]) -> tuple[set[str], list[str]]:
    """The Location ids of `units` and of every Location below them (`partOf`), and the
    units that matched no Location (to report, never to guess)."""
    by_id: dict[str, JSON] = {}
    children: dict[str, list[str]] = {}
    for loc in locations:
        lid = loc.get("id")
        if not isinstance(lid, str):
            continue
        by_id[lid] = loc
        parent = _ref_id(loc.get("partOf"))
        if parent:
            children.setdefault(parent, []).append(lid)
    wanted = {u.strip().casefold() for u in units if u.strip()}
    roots: list[str] = []
    found: set[str] = set()
    for lid, loc in by_id.items():
        hit = _names(loc) & wanted
        if hit:
            roots.append(lid)
            found |= hit
    out: set[str] = set()
    todo = list(roots)
    while todo:
        x = todo.pop()
        if x in out:
            continue
        out.add(x)
        todo.extend(children.get(x, []))
    missing = [u for u in units if u.strip() and u.strip().casefold() not in found]
    return out, missing


def on_units(resources: Iterable[dict[str, Any]], locations: set[str]) -> Iterator[dict[str, Any]]:
    """The census answers that concern the units: Encounters at one of `locations`."""
    for r in resources:
        if r.get("resourceType") != "Encounter":
            continue
        if any(_ref_id((x or {}).get("location")) in locations for x in r.get("location") or []):
            yield r
