"""The database itself refuses to rewrite audit lines, on both engines: UPDATE, DELETE, and
the writes that replace a row without updating it (SQLite's INSERT OR REPLACE, which
bypassed the UPDATE and DELETE triggers; PostgreSQL's INSERT ... ON CONFLICT DO UPDATE).
And concurrent writers, threads or processes, never fork the chain."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from standby.accounts import repository, schema
from standby.accounts.audit_verify import verify
from standby.accounts.records import AuditEvent, AuditQuery
from standby.store.base import Store
from standby.store.sqlite import SQLiteStore
from support.store_engines import DURABLE_ENGINES, make_store, pg_schema  # noqa: F401

COLS = "id, at, username, role, action, patient_id, page, address, detail"
REFUSED = "append-only|hash chain"


def event(n: int, username: str = "nurse.a") -> AuditEvent:
    return AuditEvent(
        f"2026-11-30T01:00:{n % 60:02d}.000000Z",
        username,
        "nurse",
        "view",
        f"p{n}",
        f"/patient/p{n}",
        "10.0.0.1",
    )


@pytest.fixture(params=DURABLE_ENGINES)
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    schema.ensure(s)
    try:
        yield s
    finally:
        s.close()


def first_line(store: Store) -> AuditEvent:
    return repository.search_audit(store, AuditQuery())[-1]


def test_insert_or_replace_is_refused_on_sqlite(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    schema.ensure(store)
    repository.append_audit(store, event(1))
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(Exception, match=REFUSED), store.transaction() as tx:
            tx.execute(
                f"{verb} INTO web_audit ({COLS}) VALUES"
                " (1, '2026-11-30T01:00:01.000000Z', 'someone.else', 'nurse', 'view', 'p1',"
                " '/patient/p1', '10.0.0.1', '')"
            )
    # with hashes that look right, too
    with pytest.raises(Exception, match=REFUSED), store.transaction() as tx:
        tx.execute(
            f"INSERT OR REPLACE INTO web_audit ({COLS}, prev_hash, hash) SELECT id, at,"
            " 'someone.else', role, action, patient_id, page, address, detail, prev_hash, hash"
            " FROM web_audit WHERE id = 1"
        )
    assert first_line(store).username == "nurse.a"
    assert verify(store).ok
    store.close()


def test_insert_on_conflict_do_update_is_refused(audit_store: Store) -> None:
    repository.append_audit(audit_store, event(1))
    with pytest.raises(Exception, match=REFUSED), audit_store.transaction() as tx:
        tx.execute(
            f"INSERT INTO web_audit ({COLS}, prev_hash, hash) SELECT id, at, 'someone.else',"
            " role, action, patient_id, page, address, detail, prev_hash, hash FROM web_audit"
            " WHERE id = 1 ON CONFLICT (id) DO UPDATE SET username = excluded.username"
        )
    assert first_line(audit_store).username == "nurse.a"


def test_update_delete_and_unchained_inserts_are_refused(audit_store: Store) -> None:
    repository.append_audit(audit_store, event(1))
    for sql in (
        "UPDATE web_audit SET username = 'someone.else'",
        "DELETE FROM web_audit",
        f"INSERT INTO web_audit ({COLS}) VALUES (2, 'x', 'u', 'r', 'view', NULL, '/', '-', '')",
        "UPDATE web_audit_chain SET last_id = 100",
        "DELETE FROM web_audit_chain",
    ):
        with pytest.raises(Exception, match=REFUSED), audit_store.transaction() as tx:
            tx.execute(sql)
    assert verify(audit_store).ok


def _append_many(path: str, who: str, n: int) -> None:
    store = SQLiteStore(path)
    try:
        for i in range(n):
            repository.append_audit(store, event(i, username=who))
    finally:
        store.close()


def test_writers_in_several_processes_do_not_fork_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    schema.ensure(store)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), f"p{k}", 40)) for k in range(3)]
    for p in procs:
        p.start()
    _append_many(str(path), "parent", 40)
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    v = verify(store)
    assert v.ok, v.broken
    assert v.lines == 160
    store.close()


def test_writers_on_several_connections_do_not_fork_the_chain(
    audit_store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """One store object per thread: separate connections, as separate processes have (on
    PostgreSQL each is its own session, so only the database's lock can serialise them)."""
    pg = request.getfixturevalue("pg_schema") if audit_store.engine == "postgres" else None
    errors: list[BaseException] = []

    def write(k: int) -> None:
        s = make_store(audit_store.engine, tmp_path, pg)
        try:
            for i in range(25):
                repository.append_audit_many(s, [event(i, f"t{k}"), event(i + 1, f"t{k}")])
        except BaseException as e:
            errors.append(e)
        finally:
            s.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    v = verify(audit_store)
    assert v.ok, v.broken
    assert v.lines == 4 * 25 * 2
