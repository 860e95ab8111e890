"""The audit log is tamper-evident: a hash chain over its lines, checked by
`audit_verify.verify`, with copies of its head outside the database
(docs/security.md#the-audit-log).
Each tampering is done as an attacker with the database would: the guarding triggers
dropped (or disabled), the rows changed, the triggers put back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from standby.accounts import audit_anchors, audit_chain, repository, schema
from standby.accounts.audit_verify import verify
from standby.accounts.records import AuditEvent, BreakGlass
from standby.store.base import Store
from support.audit_tamper import tamper
from support.store_engines import DURABLE_ENGINES, make_store, pg_schema  # noqa: F401


def event(n: int, **kw: str) -> AuditEvent:
    fields = {
        "at": f"2026-11-30T01:{n:02d}:00.000000Z",
        "username": "nurse.a",
        "role": "nurse",
        "action": "view",
        "patient_id": f"p{n}",
        "page": f"/patient/p{n}",
        "address": "10.0.0.1",
        "detail": "",
    }
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=DURABLE_ENGINES)
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    schema.ensure(s)
    try:
        yield s
    finally:
        s.close()


def five_lines(store: Store) -> None:
    repository.append_audit(store, event(1))
    repository.append_audit_many(store, [event(2), event(3, patient_id=None, page="/census")])
    repository.add_break_glass(
        store,
        BreakGlass("bg1", event(4).at, "nurse.a", "p4", "rapid response", "10.0.0.1", "x"),
        event(4, action="break-glass", detail="rapid response"),
    )
    repository.append_audit(store, event(5, username="Zoë", detail="ünïcode"))


def hashes(store: Store) -> dict[int, tuple[str, str]]:
    with store.read_transaction() as tx:
        return {
            int(r[0]): (r[1], r[2])
            for r in tx.query("SELECT id, prev_hash, hash FROM web_audit ORDER BY id")
        }


def test_an_untouched_log_verifies(audit_store: Store) -> None:
    five_lines(audit_store)
    v = verify(audit_store)
    assert v.ok, v.broken
    assert (v.lines, v.first_id, v.last_id) == (5, 1, 5)
    chain = hashes(audit_store)
    assert chain[1][0] == audit_chain.GENESIS
    assert all(chain[i][0] == chain[i - 1][1] for i in range(2, 6))
    assert v.head_hash == chain[5][1]


def test_the_canonical_form_is_the_documented_one() -> None:
    e = event(1, username="Zoë", patient_id=None)  # type: ignore[arg-type]
    assert (
        audit_chain.canonical(7, e)
        == (
            '[7,"2026-11-30T01:01:00.000000Z","Zoë","nurse","view",null,"/patient/p1",'
            '"10.0.0.1",""]'
        ).encode()
    )
    import hashlib

    want = hashlib.sha256(b"0" * 64 + b"\n" + audit_chain.canonical(7, e)).hexdigest()
    assert audit_chain.link(audit_chain.GENESIS, 7, e) == want


def test_a_changed_line_is_named(audit_store: Store) -> None:
    five_lines(audit_store)
    tamper(audit_store, "UPDATE web_audit SET username = 'someone.else' WHERE id = 3")
    v = verify(audit_store)
    assert v.broken is not None and v.broken.row_id == 3
    assert "changed" in v.broken.reason


def test_a_deleted_line_is_named_by_the_line_after_it(audit_store: Store) -> None:
    five_lines(audit_store)
    tamper(audit_store, "DELETE FROM web_audit WHERE id = 3")
    v = verify(audit_store)
    assert v.broken is not None and v.broken.row_id == 4
    assert "does not follow line 2" in v.broken.reason


def test_inserted_lines_are_named(audit_store: Store) -> None:
    five_lines(audit_store)
    h = hashes(audit_store)
    # a line slipped in before the first, copying the first line's hashes
    tamper(
        audit_store,
        "INSERT INTO web_audit (id, at, username, role, action, patient_id, page, address,"
        f" detail, prev_hash, hash) VALUES (0, 'x', 'ghost', 'admin', 'view', NULL, '/', '-',"
        f" '', '{h[1][0]}', '{h[1][1]}')",
    )
    v = verify(audit_store)
    assert v.broken is not None and v.broken.row_id == 0
    # a line added at the end that claims to follow the last one
    tamper(audit_store, "DELETE FROM web_audit WHERE id = 0")
    tamper(
        audit_store,
        "INSERT INTO web_audit (id, at, username, role, action, patient_id, page, address,"
        f" detail, prev_hash, hash) VALUES (6, 'x', 'ghost', 'admin', 'view', NULL, '/', '-',"
        f" '', '{h[5][1]}', '{h[5][1]}')",
    )
    v = verify(audit_store)
    assert v.broken is not None and v.broken.row_id == 6


def test_a_line_moved_to_a_free_id_is_named(audit_store: Store) -> None:
    five_lines(audit_store)
    tamper(audit_store, "UPDATE web_audit SET id = 9 WHERE id = 2")
    v = verify(audit_store)
    assert v.broken is not None and v.broken.row_id == 3


def test_a_consistently_rewritten_chain_is_caught_by_the_anchors(
    audit_store: Store, tmp_path: Path
) -> None:
    """Whoever recomputes every hash after a change fools the database alone; the head
    written outside it at the time does not match."""
    five_lines(audit_store)
    anchors = tmp_path / "anchors.jsonl"
    audit_anchors.write(audit_store, anchors)
    rows = list(audit_chain.rows_after(audit_store, 0))
    prev = audit_chain.GENESIS
    statements = []
    for r in rows:
        e = r.event
        if r.id == 2:
            e = AuditEvent(e.at, "someone.else", e.role, e.action, e.patient_id, e.page, "", "")
            statements.append("UPDATE web_audit SET username = 'someone.else', address = ''")
            statements[-1] += " WHERE id = 2"
        h = audit_chain.link(prev, r.id, e)
        statements.append(
            f"UPDATE web_audit SET prev_hash = '{prev}', hash = '{h}' WHERE id = {r.id}"
        )
        prev = h
    tamper(audit_store, *statements)
    assert verify(audit_store).ok  # the database alone cannot tell
    v = verify(audit_store, audit_anchors.read(anchors))
    assert v.broken is not None and v.broken.row_id == 5
    assert "rewritten" in v.broken.reason


def test_lines_deleted_from_the_end_are_caught_by_the_anchors(
    audit_store: Store, tmp_path: Path
) -> None:
    five_lines(audit_store)
    anchors = tmp_path / "anchors.jsonl"
    audit_anchors.write(audit_store, anchors)
    tamper(audit_store, "DELETE FROM web_audit WHERE id >= 4")
    assert verify(audit_store).ok
    v = verify(audit_store, audit_anchors.read(anchors))
    assert v.broken is not None and "deleted from the end" in v.broken.reason
    assert (anchors.stat().st_mode & 0o777) == 0o600


def test_the_viewer_writes_anchors_at_intervals(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path, None)
    schema.ensure(store)
    t = [0.0]
    periodic = audit_anchors.Periodic(tmp_path / "a.jsonl", 60, clock=lambda: t[0])
    repository.append_audit(store, event(1))
    periodic.after_write(store)
    repository.append_audit(store, event(2))
    periodic.after_write(store)  # within the interval: nothing
    t[0] = 61
    periodic.after_write(store)
    t[0] = 200
    periodic.after_write(store)  # the head did not move: nothing
    assert [(a.id, a.line) for a in audit_anchors.read(tmp_path / "a.jsonl")] == [(1, 1), (2, 2)]
    store.close()


@pytest.mark.parametrize("engine", DURABLE_ENGINES)
def test_lines_written_before_the_chain_existed_are_chained_by_the_migration(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_schema") if engine == "postgres" else None
    store = make_store(engine, tmp_path, pg)
    try:
        store.ensure_schema(schema.NAMESPACE, schema.MIGRATIONS[:15])
        with store.transaction() as tx:
            for n in (1, 2, 3):
                e = event(n)
                tx.execute(
                    "INSERT INTO web_audit (at, username, role, action, patient_id, page,"
                    " address, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.at, e.username, e.role, e.action, e.patient_id, e.page, e.address, ""),
                )
        schema.ensure(store)
        repository.append_audit(store, event(4))
        v = verify(store)
        assert v.ok, v.broken
        assert v.lines == 4 and v.start is not None
        assert (v.start.kind, v.start.line_count, v.start.last_hash) == (
            "start",
            3,
            audit_chain.GENESIS,
        )
        assert v.start.first_at == event(1).at
        assert hashes(store)[1][0] == audit_chain.GENESIS
    finally:
        store.close()
