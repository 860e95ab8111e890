"""`standby keys create|rotate-db`, `standby migrate`, and what every command says when the
replica's key is missing or wrong (docs/cli.md#standby-keys, docs/security.md#keys)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.store.encryption import is_encrypted

NURSE = ["user", "add", "nurse.kim", "--role", "nurse", "--unit", "ICU", "--password-stdin"]


@pytest.fixture
def encrypted_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Encryption on (the default of a real node), the key in a key file."""
    key_file = tmp_path / "keys" / "replica.key"
    monkeypatch.setenv("STANDBY_DB_ENCRYPTION", "on")
    monkeypatch.delenv("STANDBY_DB_KEY", raising=False)
    monkeypatch.setenv("STANDBY_DB_KEY_FILE", str(key_file))
    return key_file


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def make_replica(db: Path) -> None:
    r = run(*NURSE, "--db", str(db), stdin="amber kestrel lantern harbour\n")
    assert r.exit_code == 0, r.output


def test_keys_create_writes_a_private_key_file_once(tmp_path):
    path = tmp_path / "replica.key"
    r = run("keys", "create", str(path))
    assert r.exit_code == 0, r.output
    assert f"STANDBY_DB_KEY_FILE={path}" in r.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    first = path.read_text()
    r = run("keys", "create", str(path))
    assert r.exit_code == 2 and "never overwritten" in r.output
    assert path.read_text() == first


def test_commands_on_an_encrypted_replica_without_its_key_say_which_setting(
    tmp_path, encrypted_env, monkeypatch
):
    assert run("keys", "create", str(encrypted_env)).exit_code == 0
    db = tmp_path / "replica.db"
    make_replica(db)
    assert is_encrypted(db) is True
    monkeypatch.delenv("STANDBY_DB_KEY_FILE")
    for args in (
        ("status", "--db", str(db)),
        ("user", "list", "--db", str(db)),
        ("serve", "--db", str(db), "--port", "9"),
        ("sync", "--db", str(db), "--source", "http://127.0.0.1:9/fhir", "--once"),
    ):
        r = run(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "STANDBY_DB_KEY_FILE" in r.output, (args, r.output)
        assert "Traceback" not in r.output and "file is not a database" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)


def test_a_wrong_key_file_is_named(tmp_path, encrypted_env):
    assert run("keys", "create", str(encrypted_env)).exit_code == 0
    db = tmp_path / "replica.db"
    make_replica(db)
    other = tmp_path / "other.key"
    assert run("keys", "create", str(other)).exit_code == 0
    r = CliRunner().invoke(
        app, ["user", "list", "--db", str(db)], env={"STANDBY_DB_KEY_FILE": str(other)}
    )
    assert r.exit_code == 2
    assert f"the key from STANDBY_DB_KEY_FILE={other} does not open the replica" in r.output


def test_rotate_db_in_place_keeps_the_old_key_aside_and_the_data_readable(tmp_path, encrypted_env):
    assert run("keys", "create", str(encrypted_env)).exit_code == 0
    old_key = encrypted_env.read_text()
    db = tmp_path / "replica.db"
    make_replica(db)
    r = run("keys", "rotate-db", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert encrypted_env.read_text() != old_key
    backup = encrypted_env.with_name("replica.key.old")
    assert backup.read_text() == old_key
    assert stat.S_IMODE(encrypted_env.stat().st_mode) == 0o600
    r = run("user", "list", "--db", str(db))
    assert r.exit_code == 0 and "nurse.kim" in r.output
    r = CliRunner().invoke(
        app, ["user", "list", "--db", str(db)], env={"STANDBY_DB_KEY_FILE": str(backup)}
    )
    assert r.exit_code == 2 and "does not open" in r.output


def test_rotate_db_encrypts_a_plain_replica_with_the_configured_key(
    tmp_path, encrypted_env, monkeypatch
):
    db = tmp_path / "replica.db"
    monkeypatch.setenv("STANDBY_DB_ENCRYPTION", "off")
    make_replica(db)
    assert is_encrypted(db) is False
    monkeypatch.setenv("STANDBY_DB_ENCRYPTION", "on")
    r = run("user", "list", "--db", str(db))  # the key file does not exist yet
    assert r.exit_code == 2 and "standby keys create" in r.output
    r = run("keys", "rotate-db", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert is_encrypted(db) is True and encrypted_env.exists()
    r = run("user", "list", "--db", str(db))
    assert r.exit_code == 0 and "nurse.kim" in r.output


def test_migrate_creates_every_table(tmp_path, encrypted_env):
    assert run("keys", "create", str(encrypted_env)).exit_code == 0
    db = tmp_path / "replica.db"
    r = run("migrate", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "up to date" in r.output
    from standby.store.encryption import read_key_file
    from standby.store.sqlite import SQLiteStore

    store = SQLiteStore(db, key=read_key_file(encrypted_env))
    with store.read_transaction() as tx:
        spaces = {r[0] for r in tx.query("SELECT namespace FROM schema_migrations")}
    store.close()
    assert {"store", "web", "sync", "monitor"} <= spaces
