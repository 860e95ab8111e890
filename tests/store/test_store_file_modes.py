"""The replica's files are 0600 and the folders Standby makes for it 0700, whatever the
umask (docs/security.md#files-and-folders)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from standby.store.encryption import create_key_file, generate
from standby.store.sqlite import SQLiteStore


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def permissive_umask(request: pytest.FixtureRequest) -> Iterator[None]:
    old = os.umask(request.param)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_something(store: SQLiteStore) -> None:
    store.upsert(orjson.dumps({"resourceType": "Patient", "id": "p1", "birthDate": "1950"}))


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "sqlcipher"])
def test_a_new_replica_its_wal_and_its_new_folders_are_private(
    tmp_path, permissive_umask, encrypted
):
    os.chmod(tmp_path, 0o755)
    db = tmp_path / "var" / "standby" / "replica.db"
    store = SQLiteStore(db, key=generate() if encrypted else None)
    write_something(store)
    for f in (db, db.with_name("replica.db-wal"), db.with_name("replica.db-shm")):
        assert f.exists() and mode(f) == 0o600, f
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    assert mode(tmp_path) == 0o755  # a folder Standby did not make keeps its mode
    store.close()


def test_an_older_replica_made_0644_is_narrowed_when_opened(tmp_path, permissive_umask):
    db = tmp_path / "replica.db"
    store = SQLiteStore(db)
    write_something(store)
    store.close()
    os.chmod(db, 0o644)
    store = SQLiteStore(db)
    assert mode(db) == 0o600
    write_something(store)
    assert mode(db.with_name("replica.db-wal")) == 0o600
    store.close()


def test_a_key_file_is_private(tmp_path, permissive_umask):
    path = tmp_path / "keys" / "replica.key"
    create_key_file(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
