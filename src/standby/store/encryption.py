"""The replica's encryption at rest, and the one place a SQLite file is opened.

An encrypted replica is a SQLCipher database (AES-256, every page and the WAL): without
its key the file is noise. The key is 32 random bytes written as 64 hexadecimal
characters, in a key file (0600, `STANDBY_DB_KEY_FILE`) or in `STANDBY_DB_KEY`; it is
never stored in the database. It is a raw key (`PRAGMA key = "x'...'"`), so opening a
connection costs no key derivation — every reader thread opens its own.

`STANDBY_DB_ENCRYPTION=off` keeps the replica in plain SQLite (tests, development).
See docs/security.md for the key's life cycle and docs/store.md for the engine.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standby.private_files import create_private_file, narrow, private_dir, write_private_bytes
from standby.settings import Settings
from standby.store.base import StoreError

log = logging.getLogger(__name__)

KEY_BYTES = 32
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_PLAIN_HEADER = b"SQLite format 3\x00"
_HOW = "give its key with STANDBY_DB_KEY_FILE (a key file) or STANDBY_DB_KEY (docs/security.md)"


class DatabaseKeyError(StoreError):
    """The replica cannot be opened with the key given (or without one): the message
    names the file and the setting to fix."""


@dataclass(frozen=True)
class DatabaseKey:
    """A replica's key and where it came from (named in error messages, never the key)."""

    hex: str = field(repr=False)
    where: str

    def pragma(self) -> str:
        return f"\"x'{self.hex}'\""


def generate(where: str = "a new key") -> DatabaseKey:
    return DatabaseKey(os.urandom(KEY_BYTES).hex(), where)


def parse(text: str, where: str) -> DatabaseKey:
    text = text.strip()
    if not _HEX_KEY.fullmatch(text):
        raise DatabaseKeyError(
            f"{where}: a database key is 64 hexadecimal characters (256 bits); "
            "create one with `standby keys create PATH`"
        )
    return DatabaseKey(text.lower(), where)


def read_key_file(path: Path | str) -> DatabaseKey:
    where = f"STANDBY_DB_KEY_FILE={path}"
    try:
        text = Path(path).read_text("ascii")
    except FileNotFoundError:
        raise DatabaseKeyError(
            f"{where}: no such key file (create one with `standby keys create {path}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatabaseKeyError(f"{where}: cannot read the key file ({e})") from None
    if os.stat(path).st_mode & 0o077:
        log.warning("key file %s is readable by other users: chmod 600 it", path)
    return parse(text, where)


def create_key_file(path: Path | str) -> DatabaseKey:
    """Write a new random key to `path` (0600, its folder 0700 if new); never overwrites."""
    path = Path(path)
    private_dir(path.parent)
    key = generate(f"STANDBY_DB_KEY_FILE={path}")
    try:
        write_private_bytes(path, (key.hex + "\n").encode("ascii"), exclusive=True)
    except FileExistsError:
        raise DatabaseKeyError(f"{path} already exists: a key file is never overwritten") from None
    return key


def is_encrypted(path: Path | str) -> bool | None:
    """Whether the file at `path` is encrypted: None when it does not exist or is empty
    (a new database), False for a plain SQLite file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_PLAIN_HEADER))
    except FileNotFoundError:
        return None
    if not head:
        return None
    return head != _PLAIN_HEADER


def connect(path: Path | str, key: DatabaseKey | None, *, timeout: float = 30.0) -> Any:
    """A connection to the SQLite file at `path` (autocommit, usable from any thread):
    SQLCipher with `key`, plain SQLite without. A new file is created 0600 (its WAL and
    shared-memory files inherit that mode from it); an existing one is narrowed to 0600.
    A wrong or missing key raises `DatabaseKeyError`, never "file is not a database"."""
    name = str(path)
    on_disk = name != ":memory:" and not name.startswith("file:")
    if on_disk:
        p = Path(path)
        if not p.exists():
            private_dir(p.parent)
            create_private_file(p)
        for f in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
            narrow(f)
    conn: Any
    if key is None:
        conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False, timeout=timeout)
    else:
        import sqlcipher3

        conn = sqlcipher3.connect(
            name, isolation_level=None, check_same_thread=False, timeout=timeout
        )
        conn.execute(f"PRAGMA key = {key.pragma()}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except Exception as e:
        conn.close()
        if "not a database" not in str(e) and "encrypted" not in str(e):
            raise
        raise DatabaseKeyError(_why(path, key)) from None
    return conn


def _why(path: Path | str, key: DatabaseKey | None) -> str:
    encrypted = is_encrypted(path)
    if key is None:
        if encrypted:
            return f"the replica {path} is encrypted: {_HOW}"
        return f"{path} is not a SQLite database"
    if encrypted is False:
        return (
            f"the replica {path} is not encrypted but a key was given ({key.where}): "
            "encrypt it with `standby keys rotate-db`, or set STANDBY_DB_ENCRYPTION=off"
        )
    return f"the key from {key.where} does not open the replica {path} (a different key?)"


def rekey(path: Path | str, old: DatabaseKey | None, new: DatabaseKey) -> None:
    """Re-encrypt the replica at `path` with `new`: `PRAGMA rekey` when it is encrypted
    with `old`, or an encrypted copy swapped in when it is plain SQLite (`old` None).
    Every other process must have closed it (stop `standby serve` and `standby sync`)."""
    path = Path(path)
    if old is not None:
        conn = connect(path, old)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute(f"PRAGMA rekey = {new.pragma()}")
        finally:
            conn.close()
        connect(path, new).close()  # proves the new key opens it before anyone relies on it
        return
    tmp = path.with_name(f".{path.name}.encrypting")
    for f in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
        f.unlink(missing_ok=True)
    import sqlcipher3

    conn = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        create_private_file(tmp)
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY {new.pragma()}", (str(tmp),))
        conn.execute("SELECT sqlcipher_export('encrypted')")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        conn.execute("DETACH DATABASE encrypted")
    finally:
        conn.close()
    connect(tmp, new).close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)


def database_key(settings: Settings, *, default_key_file: Path | None = None) -> DatabaseKey | None:
    """The replica's key as the settings give it: None with `db_encryption` off or for
    PostgreSQL; else `db_key`, then `db_key_file`. With neither, `default_key_file` (the
    demo's, beside its data) is read, or created with a log line; without one that is an
    error naming the settings — a node's replica is never silently left unencrypted."""
    if settings.database_url or settings.db_encryption == "off":
        return None
    if settings.db_key is not None:
        return parse(settings.db_key.get_secret_value(), "STANDBY_DB_KEY")
    if settings.db_key_file is not None:
        return read_key_file(settings.db_key_file)
    if default_key_file is not None:
        if default_key_file.exists():
            return read_key_file(default_key_file)
        key = create_key_file(default_key_file)
        log.warning(
            "created the database key %s (0600) beside the data: the demo keeps it there; "
            "a real node keeps it elsewhere (STANDBY_DB_KEY_FILE, docs/security.md)",
            default_key_file,
        )
        return key
    if is_encrypted(settings.db):
        raise DatabaseKeyError(f"the replica {settings.db} is encrypted: {_HOW}")
    if is_encrypted(settings.db) is False:  # a replica from before encryption
        raise DatabaseKeyError(
            f"the replica {settings.db} is not encrypted and no key was given: encrypt it "
            "with `standby keys create PATH`, then `STANDBY_DB_KEY_FILE=PATH standby keys "
            "rotate-db`; or set STANDBY_DB_ENCRYPTION=off to keep it unencrypted"
        )
    raise DatabaseKeyError(
        f"the replica {settings.db} is encrypted at rest and no key was given: set "
        "STANDBY_DB_KEY_FILE to a key file (create one with `standby keys create PATH`, kept "
        "apart from the replica) or STANDBY_DB_KEY; STANDBY_DB_ENCRYPTION=off keeps it "
        "unencrypted (tests, development)"
    )
