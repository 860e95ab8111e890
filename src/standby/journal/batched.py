"""What summaries at `now` read of several patients' journals, in two queries for them all
(`summary_entries.for_summary` reads one patient's in 4-6): on PostgreSQL each query is a
network round trip, and a census made them for every row.

1. for every patient, the entries of the kinds always shown and those of the window, and
   every correction and strike (one query, `OR`);
2. the entries those corrections and strikes name that 1. did not read, and, before the
   window, the newest `PAGE` of each patient's readings and notes (`ROW_NUMBER()` by
   patient and kind) and every dose (one query, `UNION ALL`).

A page that is not known to hold the newest of every slot (`summary_entries._complete`)
is read whole for that patient and kind, as `for_summary` does. The choice of each
slot's newest is `for_summary`'s own, so the entries are the same
(tests/journal/test_journal_batched.py compares them on random journals).

`census_reads` lets a census read every row's journal at its first row: the rows' summaries
(`clinical.summary.journal_entries`) then take theirs from it, in the census's read
transaction (one snapshot, so nothing differs from reading them one by one).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from standby.clock import instant
from standby.journal import overlay as journal_overlay
from standby.journal import schema
from standby.journal import summary_entries as se
from standby.journal.entries import VITALS, Entry, Kind
from standby.journal.overlay import MAR_HOURS
from standby.journal.repository import COLUMNS
from standby.store.base import Store


def for_summaries(
    store: Store,
    patient_ids: Sequence[str],
    now: datetime,
    *,
    hours: float = 48,
    census_row: bool = False,
    drill: bool = False,
) -> dict[str, list[Entry]]:
    """For each patient, `summary_entries.for_summary` of them (the same entries, in the
    order written), read in two queries for all of them (more only for a page of older
    readings that does not hold every slot's newest)."""
    schema.ensure(store)
    pids = list(dict.fromkeys(patient_ids))
    out: dict[str, list[Entry]] = {p: [] for p in pids}
    if not pids:
        return out
    if census_row:
        since = now - timedelta(hours=MAR_HOURS)
        windowed: tuple[Kind, ...] = (Kind.ADMINISTRATION,)
        slots: dict[str, tuple[str, ...]] = {"vitals": ("weight_kg",)}
    else:
        since = now - timedelta(hours=max(hours, MAR_HOURS))
        windowed = (Kind.VITALS, Kind.ADMINISTRATION, Kind.NOTE)
        slots = {"vitals": tuple(VITALS), "administration": ("given",), "note": ()}
    kinds = [k.value for k in (*se.ALWAYS, *windowed)]
    always = [k.value for k in se.ALWAYS]
    marks = ", ".join("?" * len(pids))
    got: dict[str, dict[str, tuple[int, Entry]]] = {p: {} for p in pids}
    superseded: dict[str, set[str]] = {p: set() for p in pids}
    with store.read_transaction() as db:
        # three parts, each looked up by its index (patient and kind, patient and kind
        # from `since`, the patient's corrections and strikes): as one `OR` it read every
        # entry of each patient, weeks of them, and kept a few; a row in two parts (a
        # correction of a kind read) is kept once (`_keep`, by id)
        windowed_kinds = [k for k in kinds if k not in always]
        rows = db.query(
            f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id IN ({marks})"
            f" AND kind IN ({', '.join('?' * len(always))}) AND drill + 0 = ?"
            f" UNION ALL SELECT seq, {COLUMNS} FROM journal_entries"
            f" WHERE patient_id IN ({marks}) AND kind IN ({', '.join('?' * len(windowed_kinds))})"
            " AND performed_at >= ? AND drill + 0 = ?"
            f" UNION ALL SELECT seq, {COLUMNS} FROM journal_entries"
            f" WHERE patient_id IN ({marks}) AND corrects IS NOT NULL",
            (
                *pids,
                *always,
                int(drill),
                *pids,
                *windowed_kinds,
                instant(since),
                int(drill),
                *pids,
            ),
        )
        for r in rows:
            if r[13] is not None:
                superseded[r[3]].add(str(r[13]))
        for r in rows:
            se._keep([r], got[r[3]])
        # the entries corrections and strikes name, and the older candidates, at once
        named = {i: p for p, ids in superseded.items() for i in ids if i not in got[p]}
        parts: list[str] = []
        params: list[Any] = []
        if named:
            parts.append(
                f"SELECT seq, {COLUMNS}, 0 AS rn FROM journal_entries"
                f" WHERE id IN ({', '.join('?' * len(named))})"
            )
            params += list(named)
        time_sql = "" if census_row else " AND performed_at < ?"
        time_arg: tuple[Any, ...] = () if census_row else (instant(since),)
        for kind, keys in slots.items():
            like = f'%"{keys[0]}":%' if census_row and len(keys) == 1 else "%"
            # `drill + 0`: not a column SQLite can look up in an index, so it reads the
            # rows' patients and kind (journal_entries_patient_kind); with `drill = ?` it
            # took the index by kind and drill, every reading of every patient in the
            # journal (tests/journal/test_journal_batched.py)
            parts.append(
                f"SELECT * FROM (SELECT seq, {COLUMNS}, ROW_NUMBER() OVER"
                " (PARTITION BY patient_id ORDER BY performed_at DESC) AS rn"
                f" FROM journal_entries WHERE patient_id IN ({marks}) AND drill + 0 = ?"
                f" AND kind = ?{time_sql} AND payload LIKE ?) AS older_{kind}"
                + ("" if kind == "administration" else f" WHERE rn <= {se.PAGE}")
            )
            params += [*pids, int(drill), kind, *time_arg, like]
        older_rows = db.query(" UNION ALL ".join(parts), params)
        older: dict[tuple[str, str], list[Sequence[Any]]] = {}
        for r in older_rows:
            row = tuple(r[:-1])
            if r[-1] == 0:  # named by a correction or a strike
                se._keep([row], got[named[row[1]]])
            else:
                older.setdefault((row[3], row[2]), []).append(row)
        for pid in pids:
            found: list[Sequence[Any]] = []
            for kind, keys in slots.items():
                page = sorted(older.get((pid, kind), []), key=lambda x: x[8], reverse=True)
                paged = kind != "administration" and len(page) == se.PAGE
                if paged and not se._complete(kind, keys, page, superseded[pid]):
                    page = _whole(db, pid, drill, kind, time_sql, time_arg, keys, census_row)
                found += page
            candidates = _slotted(found, slots)
            se._keep(se._newest(candidates, superseded[pid]), got[pid])
            out[pid] = [e for _, e in sorted(got[pid].values(), key=lambda x: x[0])]
        se.stored_resources(
            db,
            (
                e
                for es in out.values()
                for e in journal_overlay.shown(es, now=now, hours=hours, census_row=census_row)
            ),
        )
    return out


def _whole(
    db: Any,
    pid: str,
    drill: bool,
    kind: str,
    time_sql: str,
    time_arg: tuple[Any, ...],
    keys: tuple[str, ...],
    census_row: bool,
) -> list[Sequence[Any]]:
    like = f'%"{keys[0]}":%' if census_row and len(keys) == 1 else "%"
    rows: list[Sequence[Any]] = db.query(
        f"SELECT seq, {COLUMNS} FROM journal_entries WHERE patient_id = ? AND drill = ?"
        f" AND kind = ?{time_sql} AND payload LIKE ? ORDER BY performed_at DESC",
        (pid, int(drill), kind, *time_arg, like),
    )
    return rows


def _slotted(
    rows: Sequence[Sequence[Any]], slots: dict[str, tuple[str, ...]]
) -> list[tuple[str, Sequence[Any]]]:
    """(slot, row) of each older row, as `summary_entries._older` names them."""
    out: list[tuple[str, Sequence[Any]]] = []
    for r in rows:
        kind = r[2]
        if kind == "note":
            out.append(("note", r))
            continue
        p = orjson.loads(r[15])
        if kind == "administration":
            if p.get("status") == "given":
                out.append((f"given:{p.get('request_id')}", r))
            continue
        out += [(f"vitals:{k}", r) for k in slots["vitals"] if p.get(k) is not None]
    return out


@dataclass
class _CensusReads:
    store: Store
    patient_ids: tuple[str, ...]
    now: datetime
    read: dict[str, list[Entry]] | None = None
    asked: set[str] = field(default_factory=set)


_census: contextvars.ContextVar[_CensusReads | None] = contextvars.ContextVar(
    "journal_census_reads", default=None
)


@contextlib.contextmanager
def census_reads(store: Store, patient_ids: Sequence[str], now: datetime) -> Iterator[None]:
    """While it lasts, the first census row's journal read (`entries`) reads every row's
    (`patient_ids`) in one go; each row's is then handed out once. Use inside the
    census's read transaction."""
    token = _census.set(_CensusReads(store, tuple(patient_ids), now))
    try:
        yield
    finally:
        _census.reset(token)


def entries(
    store: Store,
    patient_id: str,
    now: datetime,
    *,
    hours: float = 48,
    census_row: bool = False,
) -> list[Entry]:
    """`for_summary` of one patient: from the census's read (`census_reads`) when this is
    one of its rows, else in two queries of its own."""
    c = _census.get()
    if (
        c is not None
        and census_row
        and c.store is store
        and c.now == now
        and patient_id in c.patient_ids
        and patient_id not in c.asked
    ):
        if c.read is None:
            c.read = for_summaries(store, c.patient_ids, now, census_row=True)
        c.asked.add(patient_id)  # handed out once: a second build reads afresh
        return c.read[patient_id]
    return for_summaries(store, [patient_id], now, hours=hours, census_row=census_row)[patient_id]
