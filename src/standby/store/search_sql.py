"""FHIR search → SQL over the index tables (https://hl7.org/fhir/R4/search.html).

Pure: builds `(where_sql, params, order_sql)` from search parameters; the engines run it.
Repeated parameters AND, comma-separated values OR. Prefixes on dates (eq, ne, gt, ge, lt,
le, sa, eb); strings match a normalized prefix by default, `:exact` and `:contains`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from standby.fhir.references import parse_reference
from standby.fhir.search_params import (
    DATE,
    REFERENCE,
    STRING,
    TOKEN,
    date_range,
    normalize_string,
    resolve_param,
)

PidLookup = Callable[[str, str], int | None]
_PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap")
_RANK = {REFERENCE: 0, STRING: 1, DATE: 2, TOKEN: 3}
_CONTROL = {"_count", "_sort", "_total", "_offset", "_format", "_summary", "_elements"}


def _split(value: str) -> list[str]:
    """The OR'd values of one parameter: split on `,`, where `\\,` is a comma inside a value
    (https://hl7.org/fhir/R4/search.html#escaping)."""
    return [v.replace("\x00", ",") for v in value.replace("\\,", "\x00").split(",")]


def _date_cond(col_lo: str, col_hi: str, value: str) -> tuple[str, list[Any]]:
    prefix = value[:2] if value[:2] in _PREFIXES and not value[:2].isdigit() else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    rng = date_range(raw)
    if rng is None:
        raise ValueError(f"not a date: {value!r}")
    lo, hi = rng
    if prefix in ("eq", "ap"):
        return f"({col_lo} >= ? AND {col_hi} <= ?)", [lo, hi]
    if prefix == "ne":
        return f"NOT ({col_lo} >= ? AND {col_hi} <= ?)", [lo, hi]
    if prefix == "gt":
        return f"{col_hi} > ?", [hi]
    if prefix == "ge":
        return f"{col_hi} >= ?", [lo]
    if prefix == "lt":
        return f"{col_lo} < ?", [lo]
    if prefix == "le":
        return f"{col_lo} <= ?", [hi]
    if prefix == "sa":
        return f"{col_lo} > ?", [hi]
    return f"{col_hi} < ?", [lo]  # eb


def build_where(
    resource_type: str,
    params: Sequence[tuple[str, str]],
    pid_of: PidLookup,
    sid_of: Callable[[str], int | None],
) -> tuple[str, list[Any]]:
    """WHERE clause (over `resource r`) for the given search parameters."""
    clauses = ["r.deleted = 0"]
    args: list[Any] = []
    unknown: list[str] = []
    # index conditions: (rank, sql, args); the most selective kind drives the query
    indexed: list[tuple[int, str, str, list[Any]]] = []
    for raw_name, value in params:
        name, _, modifier = raw_name.partition(":")
        if name in _CONTROL:
            continue
        values = _split(value)
        if name == "_id":
            clauses.append(f"r.id IN ({','.join('?' * len(values))})")
            args.extend(values)
            continue
        if name == "_lastUpdated":
            ors = [_date_cond("r.lu", "r.lu", v) for v in values]
            clauses.append("(" + " OR ".join(c for c, _ in ors) + ")")
            for _, a in ors:
                args.extend(a)
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
        pid = pid_of(resource_type, pname)
        if pid is None:
            clauses.append("0 = 1")
            continue
        ors: list[tuple[str, list[Any]]] = []  # type: ignore[no-redef]
        ref_ids: dict[str, list[str]] = {}  # target type ("" unknown) → ids
        for v in values:
            if kind == TOKEN:
                system, bar, code = v.rpartition("|")
                sid = sid_of(system) if bar else None
                if not bar:
                    ors.append(("t.code = ?", [code]))
                elif sid is None:
                    ors.append(("0 = 1", []))
                elif code == "":
                    ors.append(("t.sid = ?", [sid]))
                else:
                    ors.append(("(t.code = ? AND t.sid = ?)", [code, sid]))
            elif kind == STRING:
                n = normalize_string(v)
                if modifier == "exact":
                    ors.append(("t.value = ?", [n]))
                elif modifier == "contains":
                    esc = n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    ors.append(("t.value LIKE ? ESCAPE '\\'", [f"%{esc}%"]))
                else:
                    ors.append(("(t.value >= ? AND t.value < ?)", [n, n + "\U0010ffff"]))
            elif kind == DATE:
                ors.append(_date_cond("t.lo", "t.hi", v))
            else:
                parsed = parse_reference(v)
                if parsed is None:
                    raise ValueError(f"not a reference: {v!r}")
                rtype, rid = parsed
                rtype = rtype or (modifier if modifier else None) or target_type
                if target_type and rtype != target_type:
                    ors.append(("0 = 1", []))
                else:
                    ref_ids.setdefault(rtype or "", []).append(rid)
        # references: one `ref_id IN (...)` per target type, so that many values (the
        # beds of a unit) are looked up in the index rather than scanned for
        for rtype, rids in ref_ids.items():
            marks = ",".join("?" * len(rids))
            if rtype:
                ors.append((f"(t.ref_id IN ({marks}) AND t.ref_type = ?)", [*rids, rtype]))
            else:
                ors.append((f"t.ref_id IN ({marks})", list(rids)))
        table = {TOKEN: "idx_token", STRING: "idx_string", DATE: "idx_date"}.get(kind, "idx_ref")
        cond = " OR ".join(c for c, _ in ors)
        sub_args: list[Any] = [pid]
        for _, a in ors:
            sub_args.extend(a)
        indexed.append((_RANK[kind], table, cond, sub_args))
    if unknown:
        raise ValueError(
            f"unsupported search parameter(s) for {resource_type}: {', '.join(unknown)}"
        )
    # The most selective index condition drives the query (`r.rid IN`); the others are
    # checked per row through the index tables' primary keys (`EXISTS`); `r.type || ''`
    # keeps SQLite (no statistics before ANALYZE) off the type index.
    indexed.sort(key=lambda x: x[0])
    for k, (_, table, cond, sub_args) in enumerate(indexed):
        if k == 0:
            clauses.append(f"r.rid IN (SELECT t.rid FROM {table} t WHERE t.pid = ? AND ({cond}))")
        else:
            clauses.append(
                f"EXISTS (SELECT 1 FROM {table} t WHERE t.rid = r.rid AND t.pid = ? AND ({cond}))"
            )
        args.extend(sub_args)
    clauses.append("r.type || '' = ?" if indexed else "r.type = ?")
    args.append(resource_type)
    return " AND ".join(clauses), args


def build_order(
    resource_type: str, sort: Sequence[str], pid_of: PidLookup
) -> tuple[str, list[Any]]:
    """ORDER BY clause for `_sort` names ("-" for descending); ties broken by row."""
    parts: list[str] = []
    args: list[Any] = []
    for item in sort:
        for s in item.split(","):
            desc = s.startswith("-")
            name = s.lstrip("-")
            direction = "DESC" if desc else "ASC"
            if name == "_lastUpdated":
                parts.append(f"r.lu {direction}")
                continue
            if name == "_id":
                parts.append(f"r.id {direction}")
                continue
            resolved = resolve_param(resource_type, name)
            if resolved is None:
                raise ValueError(f"unsupported sort parameter for {resource_type}: {name}")
            kind = resolved[1][0]
            pid = pid_of(resource_type, resolved[0])
            if pid is None:
                continue
            if kind == DATE:
                expr = f"{'MAX' if desc else 'MIN'}(t.{'hi' if desc else 'lo'})"
                table = "idx_date"
            elif kind == STRING:
                expr, table = f"{'MAX' if desc else 'MIN'}(t.value)", "idx_string"
            elif kind == TOKEN:
                expr, table = f"{'MAX' if desc else 'MIN'}(t.code)", "idx_token"
            else:
                expr, table = f"{'MAX' if desc else 'MIN'}(t.ref_id)", "idx_ref"
            parts.append(
                f"(SELECT {expr} FROM {table} t WHERE t.rid = r.rid AND t.pid = ?) {direction}"
                " NULLS LAST"
            )
            args.append(pid)
    parts.append("r.rid ASC")
    return " ORDER BY " + ", ".join(parts), args
