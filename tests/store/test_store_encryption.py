"""The replica encrypted at rest (SQLCipher; docs/security.md): no patient data in the
file's bytes, a clear error without the key or with the wrong one, rotation of the key,
and where the key comes from (settings)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import orjson
import pytest

from standby.settings import Settings
from standby.store.encryption import (
    DatabaseKeyError,
    create_key_file,
    database_key,
    generate,
    is_encrypted,
    parse,
    read_key_file,
    rekey,
)
from standby.store.sqlite import SQLiteStore

NAME = "Quillonbrae"  # a family name no SQLite page holds by chance
MRN = "MRN-7731-QX"


def patient(i: int) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Patient",
            "id": f"p{i}",
            "identifier": [{"system": "urn:mrn", "value": f"{MRN}-{i}"}],
            "name": [{"family": NAME, "given": ["Ottoline"]}],
            "birthDate": "1950-02-03",
        }
    )


def write_patients(store: SQLiteStore, n: int = 50) -> None:
    store.upsert_many([patient(i) for i in range(n)])


def raw_bytes(db: Path) -> bytes:
    return b"".join(f.read_bytes() for f in (db, db.with_name(db.name + "-wal")) if f.exists())


def test_a_plain_replica_shows_the_patients_name_in_its_bytes(tmp_path):
    """The check below can see plaintext when it is there."""
    db = tmp_path / "plain.db"
    store = SQLiteStore(db)
    write_patients(store)
    assert NAME.encode() in raw_bytes(db)
    store.close()


def test_an_encrypted_replica_holds_no_patient_data_in_the_db_or_wal_bytes(tmp_path):
    db = tmp_path / "replica.db"
    key = generate()
    store = SQLiteStore(db, key=key)
    write_patients(store)
    # while open: the data is in the WAL, not yet checkpointed into the main file
    assert db.with_name("replica.db-wal").stat().st_size > 0
    data = raw_bytes(db)
    assert NAME.encode() not in data and MRN.encode() not in data
    assert b"SQLite format 3" not in data
    store.close()
    data = raw_bytes(db)
    assert NAME.encode() not in data and b"Patient" not in data
    assert is_encrypted(db) is True
    again = SQLiteStore(db, key=key)
    found = again.read("Patient", "p7")
    assert found is not None and NAME in found.body.decode()
    again.close()


def test_opening_an_encrypted_replica_without_its_key_names_the_setting(tmp_path):
    db = tmp_path / "replica.db"
    SQLiteStore(db, key=generate()).close()
    with pytest.raises(DatabaseKeyError, match="encrypted: give its key with STANDBY_DB_KEY_FILE"):
        SQLiteStore(db)


def test_opening_with_the_wrong_key_says_so(tmp_path):
    db = tmp_path / "replica.db"
    SQLiteStore(db, key=generate()).close()
    with pytest.raises(DatabaseKeyError, match="does not open the replica"):
        SQLiteStore(db, key=parse("ab" * 32, "STANDBY_DB_KEY"))


def test_a_key_for_a_plain_replica_says_how_to_encrypt_it(tmp_path):
    db = tmp_path / "replica.db"
    SQLiteStore(db).close()
    with pytest.raises(DatabaseKeyError, match=r"not encrypted.*standby keys rotate-db"):
        SQLiteStore(db, key=generate())


def test_rotation_re_encrypts_and_the_old_key_no_longer_opens(tmp_path):
    db = tmp_path / "replica.db"
    old, new = generate("old"), generate("new")
    store = SQLiteStore(db, key=old)
    write_patients(store)
    store.close()
    rekey(db, old, new)
    with pytest.raises(DatabaseKeyError):
        SQLiteStore(db, key=old)
    store = SQLiteStore(db, key=new)
    assert store.read("Patient", "p3") is not None
    store.close()
    assert NAME.encode() not in raw_bytes(db)


def test_rotation_from_plain_encrypts_an_existing_replica(tmp_path):
    db = tmp_path / "replica.db"
    store = SQLiteStore(db)
    write_patients(store)
    store.close()
    new = generate()
    rekey(db, None, new)
    assert NAME.encode() not in raw_bytes(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    store = SQLiteStore(db, key=new)
    assert store.read("Patient", "p49") is not None
    assert store.search("Patient", [("name", NAME.lower())]).resources
    store.close()


# ---- where the key comes from ------------------------------------------------------------
def test_settings_without_a_key_are_an_error_naming_both_settings(tmp_path):
    settings = Settings(db=tmp_path / "r.db", db_encryption="on")
    with pytest.raises(DatabaseKeyError, match=r"STANDBY_DB_KEY_FILE.*STANDBY_DB_KEY"):
        database_key(settings)


def test_a_plain_replica_from_before_encryption_says_how_to_encrypt_it(tmp_path):
    SQLiteStore(tmp_path / "r.db").close()
    settings = Settings(db=tmp_path / "r.db", db_encryption="on")
    with pytest.raises(DatabaseKeyError, match="is not encrypted and no key was given"):
        database_key(settings)


def test_encryption_off_and_postgres_need_no_key(tmp_path):
    assert database_key(Settings(db=tmp_path / "r.db", db_encryption="off")) is None
    assert database_key(Settings(database_url="postgresql://x@h/db", db_encryption="on")) is None


def test_the_key_comes_from_the_key_file_or_the_variable(tmp_path):
    path = tmp_path / "keys" / "replica.key"
    made = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    from_file = database_key(Settings(db=tmp_path / "r.db", db_key_file=path, db_encryption="on"))
    assert from_file is not None and from_file.hex == made.hex
    from_env = database_key(Settings(db_key="CD" * 32, db_encryption="on"))
    assert from_env is not None and from_env.hex == "cd" * 32
    assert "cd" * 32 not in repr(from_env)  # never printed


def test_a_key_file_is_never_overwritten(tmp_path):
    path = tmp_path / "replica.key"
    first = create_key_file(path)
    with pytest.raises(DatabaseKeyError, match="never overwritten"):
        create_key_file(path)
    assert read_key_file(path).hex == first.hex


def test_a_malformed_or_missing_key_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseKeyError, match="STANDBY_DB_KEY: a database key is 64 hex"):
        database_key(Settings(db_key="hunter2", db_encryption="on"))
    with pytest.raises(DatabaseKeyError, match="no such key file"):
        read_key_file(tmp_path / "absent.key")


def test_the_demo_creates_its_key_beside_the_data_once(tmp_path, caplog, monkeypatch):
    from standby.store import encryption

    # another test's logging set-up (dictConfig) may have disabled the module's logger
    monkeypatch.setattr(encryption.log, "disabled", False)
    caplog.set_level(logging.WARNING, logger=encryption.log.name)
    settings = Settings(db=tmp_path / "standby.db", db_encryption="on")
    key_file = tmp_path / "standby.key"
    first = database_key(settings, default_key_file=key_file)
    assert "created the database key" in caplog.text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = database_key(settings, default_key_file=key_file)
    assert first is not None and second is not None and first.hex == second.hex
