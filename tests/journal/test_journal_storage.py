"""The journal's storage on every engine: entries come back as written, a form sent twice
is stored once, nothing can be changed or removed (not even by SQLite's INSERT OR
REPLACE), corrections and strikes decide what stands, and many clinicians' entries share
durable commits."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from standby.journal import repository, schema
from standby.journal.entries import Kind
from standby.store.base import Store
from support.journal_entries import NOW, PAYLOADS, entry


def test_entries_come_back_as_written(store: Store) -> None:
    written = [entry(k) for k in PAYLOADS]
    result = repository.append(store, written)
    assert result.stored == [e.id for e in written] and result.already == []
    assert repository.for_patient(store, "p1") == written
    assert repository.read(store, written[0].id) == written[0]
    assert [e for _, e in repository.since(store)] == written


def test_a_form_sent_twice_is_stored_once(store: Store) -> None:
    e = entry(Kind.VITALS)
    repository.append(store, [e])
    again = repository.append(store, [entry(Kind.VITALS, entry_id=e.id), e])
    assert again.stored == [] and again.already == [e.id, e.id]
    assert len(repository.for_patient(store, "p1")) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE journal_entries SET payload = '{}'",
        "DELETE FROM journal_entries",
        "INSERT OR REPLACE INTO journal_entries SELECT * FROM journal_entries",
        "REPLACE INTO journal_entries SELECT * FROM journal_entries",
        "INSERT INTO journal_entries SELECT * FROM journal_entries WHERE true"
        " ON CONFLICT (seq) DO UPDATE SET payload = '{}'",
    ],
)
def test_no_entry_can_be_changed_or_removed(store: Store, sql: str) -> None:
    e = entry(Kind.NOTE)
    repository.append(store, [e])
    if store.engine == "postgres" and "REPLACE" in sql:  # PostgreSQL's way of replacing
        sql = (
            "INSERT INTO journal_entries SELECT * FROM journal_entries"
            " ON CONFLICT (id) DO UPDATE SET payload = '{}'"
        )
    with pytest.raises(Exception, match="append-only"), store.transaction() as db:
        db.execute(sql)
    assert repository.for_patient(store, "p1") == [e]


def test_postgres_refuses_truncate(store: Store) -> None:
    if store.engine != "postgres":
        pytest.skip("TRUNCATE is PostgreSQL's")
    repository.append(store, [entry(Kind.NOTE)])
    with pytest.raises(Exception, match="append-only"), store.transaction() as db:
        db.execute("TRUNCATE journal_entries")


def test_corrections_and_strikes_decide_what_stands(store: Store) -> None:
    vitals = entry(Kind.VITALS, minutes_ago=30)
    fixed = entry(Kind.VITALS, corrects=vitals.id, payload={"heart_rate": 78}, minutes_ago=30)
    fixed_again = entry(Kind.VITALS, corrects=fixed.id, payload={"heart_rate": 80}, minutes_ago=30)
    note = entry(Kind.NOTE)
    wrong = entry(Kind.ALLERGY)
    strike = entry(Kind.STRIKE, corrects=wrong.id, payload={"reason": "wrong patient"})
    repository.append(store, [vitals, note, fixed, wrong, fixed_again, strike])
    standing = repository.in_effect(repository.for_patient(store, "p1"))
    assert standing == [fixed_again, note]


def test_a_durable_transaction_is_not_part_of_another(store: Store) -> None:
    if store.engine == "memory":
        pytest.skip("the memory engine keeps nothing on disk")
    with (
        store.transaction(),
        pytest.raises(RuntimeError, match="part of another"),
        store.durable_transaction(),
    ):
        pass


def test_twenty_clinicians_at_once_share_durable_commits(store: Store) -> None:
    writer = repository.JournalWriter(store)
    entries = [entry(Kind.NOTE, patient_id=f"p{i % 5}", minutes_ago=i) for i in range(200)]
    errors: list[BaseException] = []

    def clinician(mine: list) -> None:
        try:
            for e in mine:
                writer.submit(e)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=clinician, args=(entries[i::20],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    held = {e.id for _, e in repository.since(store, limit=1000)}
    assert held == {e.id for e in entries}
    assert writer.commits <= len(entries)


def test_drill_entries_are_kept_apart(store: Store) -> None:
    real, drill = entry(Kind.NOTE), entry(Kind.NOTE, drill=True, performed_at=NOW - timedelta(1))
    repository.append(store, [real, drill])
    assert repository.for_patient(store, "p1", drill=False) == [real]
    assert repository.for_patient(store, "p1", drill=True) == [drill]
    schema.ensure(store)  # idempotent
