"""Old audit lines move to signed archive files and the chain stays verifiable, in the
database from the archive's last hash, and in the file by its signature and its own chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from standby.accounts import audit_anchors, repository, schema
from standby.accounts.audit_archive import archive, read_key, verify_archive
from standby.accounts.audit_verify import verify
from standby.accounts.records import AuditEvent
from standby.store.base import Store
from support.audit_tamper import tamper
from support.store_engines import DURABLE_ENGINES, make_store, pg_schema  # noqa: F401


def event(day: int, n: int) -> AuditEvent:
    return AuditEvent(
        f"2026-11-{day:02d}T08:00:{n:02d}.000000Z",
        "nurse.a",
        "nurse",
        "view",
        f"p{n}",
        f"/patient/p{n}",
        "10.0.0.1",
        "",
    )


@pytest.fixture(params=DURABLE_ENGINES)
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    schema.ensure(s)
    # days 1, 2 and 3 of November, three lines each
    repository.append_audit_many(s, [event(d, n) for d in (1, 2, 3) for n in (1, 2, 3)])
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    return read_key(tmp_path / "keys" / "audit.key", create=True)


def count(store: Store) -> int:
    with store.read_transaction() as tx:
        return int(tx.query("SELECT COUNT(*) FROM web_audit")[0][0])


def test_archiving_moves_old_lines_to_a_signed_file_and_the_chain_still_verifies(
    audit_store: Store, tmp_path: Path, key: bytes
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    audit_anchors.write(audit_store, anchors)  # head at line 9
    got = archive(audit_store, before="2026-11-03", out_dir=tmp_path / "out", key=key)
    assert got is not None and (got.lines, got.first_id, got.last_id) == (6, 1, 6)
    assert (got.file.stat().st_mode & 0o777) == 0o600
    assert count(audit_store) == 3
    v = verify(audit_store, audit_anchors.read(anchors))
    assert v.ok, v.broken
    assert (v.first_id, v.lines) == (7, 3)
    assert v.start is not None and (v.start.kind, v.start.last_id) == ("archive", 6)
    a = verify_archive(got.file, key, audit_store)
    assert a.ok and a.recorded and (a.lines, a.last_id) == (6, 6)
    # new lines continue the chain; a second archive continues the first
    repository.append_audit(audit_store, event(4, 1))
    second = archive(audit_store, before="2026-11-04", out_dir=tmp_path / "out", key=key)
    assert second is not None and (second.first_id, second.last_id) == (7, 9)
    assert verify(audit_store).ok
    assert verify_archive(second.file, key, audit_store).ok
    first_line = json.loads(second.file.read_text().splitlines()[0])
    assert first_line["start_hash"] == got.last_hash


def test_nothing_older_means_no_archive(audit_store: Store, tmp_path: Path, key: bytes) -> None:
    assert archive(audit_store, before="2026-10-01", out_dir=tmp_path / "out", key=key) is None
    assert count(audit_store) == 9 and not list((tmp_path / "out").iterdir())


def test_a_tampered_archive_is_detected(audit_store: Store, tmp_path: Path, key: bytes) -> None:
    got = archive(audit_store, before="2026-11-03", out_dir=tmp_path / "out", key=key)
    assert got is not None
    text = got.file.read_text(encoding="utf-8")
    got.file.write_text(text.replace('"username":"nurse.a"', '"username":"admin.b"', 1))
    a = verify_archive(got.file, key, audit_store)
    assert not a.ok and a.broken is not None and "signature" in a.broken
    # another key cannot sign it either
    other = read_key(tmp_path / "other.key", create=True)
    got.file.write_text(text)
    assert verify_archive(got.file, key).ok
    assert not verify_archive(got.file, other).ok


def test_the_database_refuses_to_delete_lines_no_archive_holds(audit_store: Store) -> None:
    with pytest.raises(Exception, match="append-only"), audit_store.transaction() as tx:
        tx.execute("DELETE FROM web_audit WHERE id = 1")


def test_a_broken_chain_is_not_archived(audit_store: Store, tmp_path: Path, key: bytes) -> None:
    tamper(audit_store, "UPDATE web_audit SET detail = 'edited' WHERE id = 2")
    with pytest.raises(ValueError, match="broken at line 2"):
        archive(audit_store, before="2026-11-03", out_dir=tmp_path / "out", key=key)
    assert count(audit_store) == 9
    assert not [p for p in (tmp_path / "out").iterdir()]


def test_the_key_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    read_key(path, create=True)
    assert (path.stat().st_mode & 0o777) == 0o600
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_key(path)
    with pytest.raises(ValueError, match="no audit key file"):
        read_key(tmp_path / "missing.key")


def test_a_forged_archive_record_is_caught_by_its_signature(
    audit_store: Store, tmp_path: Path, key: bytes
) -> None:
    """A record claiming lines 1-4 were archived lets the database delete them, with no
    trigger dropped; without the key it cannot be signed, and verify names it."""
    archive(audit_store, before="2026-11-02", out_dir=tmp_path / "out", key=key)  # lines 1-3
    with audit_store.transaction() as tx:
        held = tx.query("SELECT hash FROM web_audit WHERE id = 4")[0][0]
        tx.execute(
            "INSERT INTO web_audit_chain (kind, at, last_id, last_hash, line_count, file,"
            " first_at, last_at, mac) VALUES ('archive', 'x', 4, ?, 1, 'f', 'x', 'x', 'bad')",
            (held,),
        )
        tx.execute("DELETE FROM web_audit WHERE id = 4")
    v = verify(audit_store, key=key)
    assert v.broken is not None and v.broken.row_id == 4
    assert "not signed with the audit key" in v.broken.reason
    assert verify(audit_store).ok  # without the key the forgery cannot be seen


def test_start_records_cannot_open_the_log_to_deletion(audit_store: Store) -> None:
    with audit_store.transaction() as tx:
        tx.execute(
            "INSERT INTO web_audit_chain (kind, at, last_id, last_hash, line_count)"
            " VALUES ('start', 'x', 9, 'x', 0)"
        )
    with pytest.raises(Exception, match="append-only"), audit_store.transaction() as tx:
        tx.execute("DELETE FROM web_audit WHERE id = 1")
    v = verify(audit_store)
    assert v.broken is not None and "forged" in v.broken.reason
