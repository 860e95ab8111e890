"""FHIR search over extracted index values in memory: the memory engine's `search`.

The same semantics as the SQL engines' compiler (`search_sql.py`, docs/store.md#search) over
the same values (`standby.fhir.search_params.extract`): repeated parameters AND, commas OR;
token `code`, `system|code`, `system|`; strings a normalized prefix, `:exact`, `:contains`;
dates as ranges with the prefixes `eq ne gt ge lt le sa eb` (`ap` as `eq`); references by
id, `Type/id` or URL, restricted by the `:Type` modifier or an alias's target type.
https://hl7.org/fhir/R4/search.html

Pure: `compile_search` turns parameters into predicates, `compile_sort` into sort keys; the
engine applies them to its rows. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from standby.fhir.references import parse_reference
from standby.fhir.search_params import (
    DATE,
    REFERENCE,
    STRING,
    TOKEN,
    Extracted,
    date_range,
    normalize_string,
    resolve_param,
)

_PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap")
_CONTROL = {"_count", "_sort", "_total", "_offset", "_format", "_summary", "_elements"}


class Indexed(Protocol):
    """What search reads of one current resource."""

    @property
    def id(self) -> str: ...

    @property
    def lu(self) -> int: ...  # lastUpdated, epoch ms

    @property
    def values(self) -> dict[str, list[Any]]: ...  # indexed name → index values


Predicate = Callable[[Indexed], bool]
SortKey = tuple[Callable[[Indexed], Any], bool]  # (key, descending); None sorts last
R = TypeVar("R", bound=Indexed)


def index_values(ex: Extracted) -> dict[str, list[Any]]:
    """One resource's index values by parameter: token `(system, code)`, string (normalized),
    date `(low ms, high ms)`, reference `(type, id)` (type "" when the reference names none)."""
    out: dict[str, list[Any]] = {}
    for name, system, code in ex.token:
        out.setdefault(name, []).append((system, code))
    for name, value in ex.string:
        out.setdefault(name, []).append(value)
    for name, lo, hi in ex.date:
        out.setdefault(name, []).append((lo, hi))
    for name, ttype, tid in ex.reference:
        out.setdefault(name, []).append((ttype, tid))
    return out


def _split(value: str) -> list[str]:
    return [v.replace("\x00", ",") for v in value.replace("\\,", "\x00").split(",")]


def _date_test(value: str) -> Callable[[int, int], bool]:
    """Whether a stored range `(lo, hi)` matches one date value with its prefix."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    rng = date_range(raw)
    if rng is None:
        raise ValueError(f"not a date: {value!r}")
    a, b = rng
    tests: dict[str, Callable[[int, int], bool]] = {
        "eq": lambda lo, hi: lo >= a and hi <= b,
        "ap": lambda lo, hi: lo >= a and hi <= b,
        "ne": lambda lo, hi: not (lo >= a and hi <= b),
        "gt": lambda lo, hi: hi > b,
        "ge": lambda lo, hi: hi >= a,
        "lt": lambda lo, hi: lo < a,
        "le": lambda lo, hi: lo <= b,
        "sa": lambda lo, hi: lo > b,
        "eb": lambda lo, hi: hi < a,
    }
    return tests[prefix]


def _token_test(value: str) -> Callable[[Any], bool]:
    system, bar, code = value.rpartition("|")
    if not bar:
        return lambda t: t[1] == code
    if code == "":
        return lambda t: t[0] == system
    return lambda t: t[0] == system and t[1] == code


def _string_test(value: str, modifier: str) -> Callable[[Any], bool]:
    n = normalize_string(value)
    if modifier == "exact":
        return lambda s: s == n
    if modifier == "contains":
        return lambda s: n in s
    end = n + "\U0010ffff"
    return lambda s: n <= s < end


def _reference_tests(
    values: Sequence[str], modifier: str, target_type: str | None
) -> list[Callable[[Any], bool]]:
    tests: list[Callable[[Any], bool]] = []
    for v in values:
        parsed = parse_reference(v)
        if parsed is None:
            raise ValueError(f"not a reference: {v!r}")
        rtype, rid = parsed
        rtype = rtype or (modifier if modifier else None) or target_type
        if target_type and rtype != target_type:
            continue  # can never match
        tests.append(_reference_test(rtype, rid))
    return tests


def _reference_test(rtype: str | None, rid: str) -> Callable[[Any], bool]:
    if rtype:
        return lambda r: r[1] == rid and r[0] == rtype
    return lambda r: r[1] == rid


def _any_value(pname: str, tests: list[Callable[[Any], bool]]) -> Predicate:
    def predicate(row: Indexed) -> bool:
        return any(test(v) for v in row.values.get(pname, ()) for test in tests)

    return predicate


def _id_in(wanted: set[str]) -> Predicate:
    return lambda row: row.id in wanted


def _updated_in(tests: list[Callable[[int, int], bool]]) -> Predicate:
    return lambda row: any(t(row.lu, row.lu) for t in tests)


def _period_test(test: Callable[[int, int], bool]) -> Callable[[Any], bool]:
    return lambda d: test(d[0], d[1])


def compile_search(resource_type: str, params: Sequence[tuple[str, str]]) -> list[Predicate]:
    """One predicate per parameter (all must hold). ValueError names unsupported
    parameters and modifiers, and values that are not dates or references."""
    predicates: list[Predicate] = []
    unknown: list[str] = []
    for raw_name, value in params:
        name, _, modifier = raw_name.partition(":")
        if name in _CONTROL:
            continue
        values = _split(value)
        if name == "_id":
            predicates.append(_id_in(set(values)))
            continue
        if name == "_lastUpdated":
            predicates.append(_updated_in([_date_test(v) for v in values]))
            continue
        resolved = resolve_param(resource_type, name)
        if resolved is None:
            unknown.append(raw_name)
            continue
        pname, (kind, _), target_type = resolved
        if modifier and not (
            (kind == STRING and modifier in ("exact", "contains"))
            or (kind == REFERENCE and modifier[:1].isupper())
        ):
            unknown.append(raw_name)
            continue
        tests: list[Callable[[Any], bool]]
        if kind == TOKEN:
            tests = [_token_test(v) for v in values]
        elif kind == STRING:
            tests = [_string_test(v, modifier) for v in values]
        elif kind == DATE:
            tests = [_period_test(_date_test(v)) for v in values]
        else:
            tests = _reference_tests(values, modifier, target_type)
        predicates.append(_any_value(pname, tests))
    if unknown:
        raise ValueError(
            f"unsupported search parameter(s) for {resource_type}: {', '.join(unknown)}"
        )
    return predicates


def _extreme(pname: str, kind: str, desc: bool) -> Callable[[Indexed], Any]:
    """The value a row sorts by: the highest (descending) or lowest of its values."""
    pick = max if desc else min

    def key(row: Indexed) -> Any:
        vals = row.values.get(pname)
        if not vals:
            return None
        if kind == DATE:
            return pick(v[1] if desc else v[0] for v in vals)
        if kind in (TOKEN, REFERENCE):
            return pick(v[1] for v in vals)  # the code; the referenced id
        return pick(vals)

    return key


def compile_sort(resource_type: str, sort: Sequence[str]) -> list[SortKey]:
    """Sort keys for `_sort` names ("-" for descending), most significant first."""
    keys: list[SortKey] = []
    for item in sort:
        for s in item.split(","):
            desc = s.startswith("-")
            name = s.lstrip("-")
            if name == "_lastUpdated":
                keys.append((lambda row: row.lu, desc))
                continue
            if name == "_id":
                keys.append((lambda row: row.id, desc))
                continue
            resolved = resolve_param(resource_type, name)
            if resolved is None:
                raise ValueError(f"unsupported sort parameter for {resource_type}: {name}")
            keys.append((_extreme(resolved[0], resolved[1][0], desc), desc))
    return keys


def ordered(rows: list[R], keys: Sequence[SortKey]) -> list[R]:
    """`rows` (in storage order: the tie-break) sorted by `keys`, missing values last."""
    for key, desc in reversed(keys):
        present = [r for r in rows if key(r) is not None]
        missing = [r for r in rows if key(r) is None]
        present.sort(key=key, reverse=desc)  # stable, also when reversed
        rows = present + missing
    return rows
