"""The key that signs the viewer's session cookies: in a file (0600), never in the
database, so that a copy of the replica cannot forge a session (docs/security.md).

The file is `STANDBY_SECRET_KEY_FILE`, or `<db>.secret` beside the replica. A key that an
older version kept in the database is deleted from it and not reused: the database file
was readable by other local users, so that key must be taken as known — a new one is
written instead, and everyone signs in again once.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from standby.accounts import repository
from standby.private_files import private_dir, write_private_bytes
from standby.settings import Settings
from standby.store.base import Store

log = logging.getLogger(__name__)


def key_file(settings: Settings) -> Path:
    """Where the cookie-signing key of these settings lives."""
    return settings.secret_key_file or Path(settings.db).with_suffix(".secret")


def signing_secret(store: Store, path: Path) -> str:
    """The key in `path`; a new random one is written there (0600) on first use. A key
    the database still holds is deleted (and logged). Worker processes that start together
    all end up with the one key (the file appears whole, and only once)."""
    secret = _read(path)
    if secret is None:
        secret = secrets.token_urlsafe(48)
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
        write_private_bytes(tmp, (secret + "\n").encode("ascii"))
        try:
            os.link(tmp, path)  # whole or absent, and never over a key another worker wrote
        except FileExistsError:
            secret = _read(path) or secret
        finally:
            tmp.unlink(missing_ok=True)
    if repository.stored_signing_secret(store) is not None:
        repository.forget_signing_secret(store)
        log.warning(
            "deleted the cookie-signing key an older version kept in the database; the key "
            "is now %s (a new one: everyone signs in again once)",
            path,
        )
    return secret


def _read(path: Path) -> str | None:
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    return text or None
