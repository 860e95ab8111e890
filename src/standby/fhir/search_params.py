"""The pure extraction of search index values, by the table of `standby.fhir.search_registry`.

`extract(resource)` gives every index value of one resource; `patient_compartment(resource)`
the id of the Patient whose compartment it belongs to; `date_range` and `normalize_string`
are the forms dates and strings are indexed (and searched) in. The table's names are
importable from here too. No I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from standby.fhir.references import parse_reference
from standby.fhir.search_registry import (
    ALIASES,
    COMPARTMENT_PATHS,
    DATE,
    DEFAULT_PARAMS,
    KINDS,
    PARAMS,
    REFERENCE,
    SPECIAL_PARAMS,
    STRING,
    TOKEN,
    ParamDef,
    params_for,
    resolve_param,
)

__all__ = [
    "ALIASES",
    "COMPARTMENT_PATHS",
    "DATE",
    "DEFAULT_PARAMS",
    "KINDS",
    "MAX_MS",
    "MIN_MS",
    "PARAMS",
    "REFERENCE",
    "SPECIAL_PARAMS",
    "STRING",
    "TOKEN",
    "Extracted",
    "ParamDef",
    "date_range",
    "extract",
    "normalize_string",
    "params_for",
    "patient_compartment",
    "resolve_param",
]


def _compile(table: dict[str, ParamDef]) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
    return [
        (name, kind, tuple(tuple(p.split(".")) for p in paths))
        for name, (kind, paths) in table.items()
    ]


_COMPILED = {t: _compile(table) for t, table in PARAMS.items()}
_COMPILED_DEFAULT = _compile(DEFAULT_PARAMS)


# ---- values ------------------------------------------------------------------------------
@dataclass(slots=True)
class Extracted:
    """Every index value of one resource, de-duplicated, per kind."""

    token: set[tuple[str, str, str]] = field(default_factory=set)  # (param, system, code)
    string: set[tuple[str, str]] = field(default_factory=set)  # (param, normalized)
    date: set[tuple[str, int, int]] = field(default_factory=set)  # (param, low ms, high ms)
    reference: set[tuple[str, str, str]] = field(default_factory=set)  # (param, type, id)


def normalize_string(text: str) -> str:
    """Case- and accent-insensitive form (NFKD, combining marks dropped, casefold)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


MIN_MS = -(2**62)
MAX_MS = 2**62


@lru_cache(maxsize=8192)  # keyed on instants: new ones arrive with every change
def date_range(value: str) -> tuple[int, int] | None:
    """Low and high instants (epoch ms, inclusive) of a FHIR date, dateTime or instant.
    `1980` covers the whole year, `1980-05` the month; no zone means UTC."""
    v = value.strip()
    n = len(v)
    try:
        if n > 10:
            t = datetime.fromisoformat(v)
            if t.tzinfo is None:
                t = t.replace(tzinfo=UTC)
            lo_ms = _ms(t)
            if v[19:20] == ".":
                return lo_ms, lo_ms
            return lo_ms, lo_ms + (999 if n >= 19 and v[16:17] == ":" else 59_999)
        if n == 4:
            lo = datetime(int(v), 1, 1, tzinfo=UTC)
            hi = datetime(int(v) + 1, 1, 1, tzinfo=UTC)
        elif n == 7:
            y, m = int(v[:4]), int(v[5:7])
            lo = datetime(y, m, 1, tzinfo=UTC)
            hi = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
        elif n == 10:
            lo = datetime.fromisoformat(v).replace(tzinfo=UTC)
            hi = lo + timedelta(days=1)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return _ms(lo), _ms(hi) - 1


def _ms(t: datetime) -> int:
    return (t.toordinal() - _EPOCH_DAYS) * 86_400_000 + _utc_ms_of_day(t)


_EPOCH_DAYS = datetime(1970, 1, 1).toordinal()


def _utc_ms_of_day(t: datetime) -> int:
    off = t.utcoffset()
    ms = ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000
    return ms - (int(off.total_seconds() * 1000) if off else 0)


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at `path` under one node, lists flattened at every step."""
    if len(path) == 1:  # the common case, without the step loop of `_walk_many`
        v = node.get(path[0])
        if v is None:
            return []
        return v if isinstance(v, list) else [v]
    return _walk_many(node, path)


def _tokens(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [("", value)]
    if isinstance(value, bool):
        return [("", "true" if value else "false")]
    if not isinstance(value, dict):
        return []
    out: list[tuple[str, str]] = []
    codings = value.get("coding")
    value_list = codings if isinstance(codings, list) else [value]
    for c in value_list:
        if not isinstance(c, dict):
            continue
        system = c.get("system") if isinstance(c.get("system"), str) else ""
        code = c.get("code", c.get("value"))
        if isinstance(code, str):
            out.append((system or "", code))
    return out


_NAME_PARTS = ("text", "family", "given", "prefix", "suffix")
_ADDRESS_PARTS = ("text", "line", "city", "district", "state", "postalCode", "country")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    out: list[str] = []
    for key in _NAME_PARTS + _ADDRESS_PARTS:
        v = value.get(key)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(s for s in v if isinstance(s, str))
    return out


def _dates(value: Any) -> list[tuple[int, int]]:
    if isinstance(value, str):
        r = date_range(value)
        return [r] if r else []
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        if start is None and end is None:
            return []
        return [(start[0] if start else MIN_MS, end[1] if end else MAX_MS)]
    return []


# Extraction runs once per stored resource and was the largest part of an ingest: each
# type's table is compiled into one list of (element, steps after it, handler) so that an
# absent element costs one `dict.get`, and reference texts, which repeat (every
# Observation of a patient names the same Patient and Encounter), are parsed once.
_REF_CACHE: dict[str, tuple[str | None, str] | None] = {}


def _ref(value: Any) -> tuple[str | None, str] | None:
    """`reference_target` with the reference text's parse remembered."""
    if not isinstance(value, dict):
        return None
    ref = value.get("reference")
    if not isinstance(ref, str):
        return None
    try:
        parsed = _REF_CACHE[ref]
    except KeyError:
        if len(_REF_CACHE) >= 16_384:
            _REF_CACHE.clear()
        parsed = _REF_CACHE[ref] = parse_reference(ref)
    if parsed is None:
        return None
    if parsed[0] is None and isinstance(value.get("type"), str):
        return value["type"], parsed[1]
    return parsed


def _add_tokens(out: Extracted, name: str, value: Any) -> None:
    if isinstance(value, str):
        out.token.add((name, "", value))
    elif isinstance(value, bool):
        out.token.add((name, "", "true" if value else "false"))
    elif isinstance(value, dict):
        codings = value.get("coding")
        for c in codings if isinstance(codings, list) else (value,):
            if isinstance(c, dict):
                code = c.get("code", c.get("value"))
                if isinstance(code, str):
                    system = c.get("system")
                    out.token.add((name, system if isinstance(system, str) else "", code))


def _add_strings(out: Extracted, name: str, value: Any) -> None:
    for s in _strings(value):
        n = normalize_string(s)
        if n:
            out.string.add((name, n[:200]))


def _add_dates(out: Extracted, name: str, value: Any) -> None:
    if isinstance(value, str):
        r = date_range(value)
        if r:
            out.date.add((name, r[0], r[1]))
    else:
        for lo, hi in _dates(value):
            out.date.add((name, lo, hi))


def _add_refs(out: Extracted, name: str, value: Any) -> None:
    target = _ref(value)
    if target is not None:
        out.reference.add((name, target[0] or "", target[1]))


def _add_patient_refs(out: Extracted, name: str, value: Any) -> None:
    target = _ref(value)
    if target is not None and target[0] in (None, "Patient"):
        out.reference.add((name, target[0] or "", target[1]))


_ADD = {TOKEN: _add_tokens, STRING: _add_strings, DATE: _add_dates, REFERENCE: _add_refs}

# element name → what to do with it: (steps after it, handler, parameter name)
Plan = dict[str, list[tuple[tuple[str, ...], Any, str]]]


def _plan(table: list[tuple[str, str, tuple[tuple[str, ...], ...]]]) -> Plan:
    out: Plan = {}
    for name, kind, paths in table:
        add = _add_patient_refs if kind == REFERENCE and name == "patient" else _ADD[kind]
        for path in paths:
            out.setdefault(path[0], []).append((path[1:], add, name))
    return out


_PLANS = {t: _plan(c) for t, c in _COMPILED.items()}
_PLAN_DEFAULT = _plan(_COMPILED_DEFAULT)


def extract(resource: dict[str, Any]) -> Extracted:
    """Every index value of one resource, by its type's parameter table."""
    out = Extracted()
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return out
    plan = _PLANS.get(rtype, _PLAN_DEFAULT)
    for key, v in resource.items():
        todo = plan.get(key)
        if todo is None or v is None:
            continue
        for rest, add, name in todo:
            if rest:
                for value in _walk(v, rest) if isinstance(v, dict) else _walk_list(v, rest):
                    add(out, name, value)
            elif isinstance(v, list):
                for value in v:
                    add(out, name, value)
            else:
                add(out, name, v)
    return out


def _walk_list(node: Any, path: tuple[str, ...]) -> list[Any]:
    """`_walk` from a list of nodes (an element that repeats)."""
    if not isinstance(node, list):
        return []
    out: list[Any] = []
    for item in node:
        if isinstance(item, dict):
            out.extend(_walk_many(item, path))
    return out


def _walk_many(node: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    items: list[Any] = [node]
    for step in path:
        nxt: list[Any] = []
        for item in items:
            if isinstance(item, dict):
                v = item.get(step)
                if isinstance(v, list):
                    nxt.extend(v)
                elif v is not None:
                    nxt.append(v)
        items = nxt
        if not items:
            break
    return items


_COMPARTMENT = tuple(tuple(p.split(".")) for p in COMPARTMENT_PATHS)


def patient_compartment(resource: dict[str, Any]) -> str | None:
    """The id of the Patient whose compartment holds this resource (a Patient: its own id)."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) else None
    for path in _COMPARTMENT:
        for value in _walk(resource, path):
            target = _ref(value)
            if target is not None and target[0] == "Patient":
                return target[1]
    return None
