"""The journal of several patients read at once (`journal.batched.for_summaries`, what a
census and a summary read) gives each patient exactly what `summary_entries.for_summary`
reads of them alone, on random journals: old weights behind pages of readings, doses of
several orders, notes, corrections and strikes (some across the window), drill entries."""

from __future__ import annotations

import random
from typing import Any

import pytest

from standby.journal import batched, repository, summary_entries
from standby.journal.entries import Kind
from support.journal_entries import NOW, PAYLOADS, entry

DAY = 24 * 60
PATIENTS = [f"p{i}" for i in range(6)]


def _random_journal(rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for pid in PATIENTS:
        for _ in range(rng.randrange(0, 200)):
            ago = rng.choice([rng.randrange(0, 3 * DAY), rng.randrange(0, 30 * DAY)])
            drill = rng.random() < 0.05
            kind = rng.choice(
                [Kind.VITALS] * 5
                + [Kind.ADMINISTRATION] * 3
                + [Kind.NOTE, Kind.ORDER, Kind.ALLERGY, Kind.TRANSFER]
            )
            if kind is Kind.VITALS:
                keys = rng.sample(sorted(set(PAYLOADS[Kind.VITALS]) - {"diastolic"}), 3)
                keys += ["diastolic"] if "systolic" in keys else []
                payload: dict[str, Any] = {k: PAYLOADS[Kind.VITALS][k] for k in keys}
            elif kind is Kind.ADMINISTRATION:
                payload = {
                    **PAYLOADS[kind],
                    "request_id": f"mr-{rng.randrange(3)}",
                    "status": rng.choice(["given", "given", "held"]),
                    "reason": "NPO",
                }
            else:
                payload = PAYLOADS[kind]
            out.append(entry(kind, patient_id=pid, minutes_ago=ago, payload=payload, drill=drill))
        mine = [e for e in out if e.patient_id == pid]
        for old in rng.sample(mine, min(len(mine), rng.randrange(0, 6))):
            ago = rng.randrange(0, 30 * DAY)
            if rng.random() < 0.5:
                out.append(
                    entry(Kind.STRIKE, patient_id=pid, minutes_ago=ago // 2, corrects=old.id)
                )
            else:
                out.append(
                    entry(
                        old.kind,
                        patient_id=pid,
                        minutes_ago=ago,
                        payload=old.payload,
                        corrects=old.id,
                    )
                )
    return out


@pytest.mark.parametrize("seed", range(6))
def test_reading_every_patient_at_once_reads_what_each_alone_reads(store: Any, seed: int) -> None:
    rng = random.Random(seed)
    repository.append(store, _random_journal(rng))
    for census_row in (False, True):
        for hours in (48, 12):
            together = batched.for_summaries(
                store, PATIENTS, NOW, hours=hours, census_row=census_row
            )
            for pid in PATIENTS:
                alone = summary_entries.for_summary(
                    store, pid, NOW, hours=hours, census_row=census_row
                )
                assert together[pid] == alone, (pid, census_row, hours)
                one = batched.entries(store, pid, NOW, hours=hours, census_row=census_row)
                assert one == alone


def test_a_census_reads_its_rows_journal_once_for_all_and_each_row_gets_its_own(
    store: Any,
) -> None:
    rng = random.Random(7)
    repository.append(store, _random_journal(rng))
    with batched.census_reads(store, PATIENTS, NOW):
        got = {p: batched.entries(store, p, NOW, census_row=True) for p in PATIENTS}
    for pid in PATIENTS:
        assert got[pid] == summary_entries.for_summary(store, pid, NOW, census_row=True)


def test_older_readings_are_read_by_patient_not_by_scanning_every_patients(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queries of several patients' journals look the rows up by patient and kind (or
    the patient's corrections): the older readings were read by the index of kind and
    drill, every reading of every patient in the journal (a 4-week journal of 300 beds:
    all its vital signs, at a census's first view), and the window by the index of
    patient alone, every entry of each patient."""
    import sqlite3

    from standby.store import open_store
    from standby.store import sqlite as sqlite_store

    db = tmp_path / "replica.db"
    s = open_store(db=db)
    try:
        repository.append(s, _random_journal(random.Random(3)))
        asked: list[tuple[str, tuple[Any, ...]]] = []
        query = sqlite_store._SQLiteCursor.query

        def spy(self: Any, sql: str, params: Any = ()) -> Any:
            if "journal_entries" in sql:
                asked.append((sql, tuple(params)))
            return query(self, sql, params)

        monkeypatch.setattr(sqlite_store._SQLiteCursor, "query", spy)
        for census_row in (False, True):
            batched.for_summaries(s, PATIENTS[:3], NOW, census_row=census_row)
    finally:
        s.close()
    conn = sqlite3.connect(db)
    plans = {
        sql: [str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        for sql, params in asked
    }
    conn.close()
    assert any("ROW_NUMBER" in sql for sql in plans)
    for sql, plan in plans.items():
        assert not any("journal_entries_kind " in p for p in plan), (sql, plan)
        # nor every entry of each patient (the index by patient alone), weeks of them, to
        # keep a few: by patient and kind, or the patient's corrections and strikes
        assert not any("journal_entries_patient (" in p for p in plan), (sql, plan)
