"""`standby demo` with encryption on (a real node's default): the key is created beside
the demo's data (0600) and named, the replica is encrypted, the demo's folders are 0700
(docs/security.md#keys)."""

import os
import stat
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.store import open_store
from standby.store.encryption import is_encrypted, read_key_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def encryption_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDBY_DB_ENCRYPTION", "on")
    monkeypatch.delenv("STANDBY_DB_KEY", raising=False)
    # set, then removed: monkeypatch then restores the variable's absence after the demo
    # sets it (a delenv of an absent variable records nothing to undo)
    monkeypatch.setenv("STANDBY_DB_KEY_FILE", "")
    monkeypatch.delenv("STANDBY_DB_KEY_FILE")


@pytest.mark.slow
def test_the_demo_encrypts_its_replica_with_a_key_it_creates(tmp_path, encryption_on):
    demo = tmp_path / "demo"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            app, ["demo", "--beds", "20", "--dir", str(demo), "--ehr-port", "0", "--setup-only"]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert "reachable:    yes" in result.output
    key_file = demo / "standby.key"
    assert mode(key_file) == 0o600
    assert os.environ["STANDBY_DB_KEY_FILE"] == str(key_file)
    db = demo / "standby.db"
    assert is_encrypted(db) is True and mode(db) == 0o600
    assert mode(demo) == 0o700 and mode(demo / "ehr") == 0o700
    first = orjson.loads((demo / "ehr" / "Patient.ndjson").read_bytes().splitlines()[0])
    family = first["name"][0]["family"].encode()
    assert family not in db.read_bytes()
    with open_store(db=db, key=read_key_file(key_file)) as store:
        assert store.counts_by_type().get("Patient", 0) > 0


def test_a_demo_replica_made_before_encryption_is_encrypted_in_place(tmp_path, encryption_on):
    from standby.cli.demo import _demo_key_file
    from standby.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "standby.db")
    store.upsert(orjson.dumps({"resourceType": "Patient", "id": "p1", "birthDate": "1950"}))
    store.close()
    key_file = _demo_key_file(tmp_path)
    assert key_file == tmp_path / "standby.key" and mode(key_file) == 0o600
    assert is_encrypted(tmp_path / "standby.db") is True
    with open_store(db=tmp_path / "standby.db", key=read_key_file(key_file)) as store:
        assert store.read("Patient", "p1") is not None
