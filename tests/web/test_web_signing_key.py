"""The key that signs session cookies lives in a file (0600), never in the database: a
copy of the replica cannot forge a session (docs/security.md#the-cookie-signing-key)."""

from __future__ import annotations

import logging
import stat

from standby.accounts import schema
from standby.settings import Settings
from standby.store.sqlite import SQLiteStore
from standby.web.app import create_app


def stored_secrets(store: SQLiteStore) -> list[tuple[object, ...]]:
    with store.read_transaction() as tx:
        return tx.query("SELECT secret FROM web_secret")


def test_the_signing_key_is_in_a_private_file_not_in_the_database(tmp_path):
    db = tmp_path / "replica.db"
    store = SQLiteStore(db)
    create_app(Settings(db=db), store)
    assert stored_secrets(store) == []
    key_file = tmp_path / "replica.secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    create_app(Settings(db=db), store)  # a second worker reads the same key
    assert stored_secrets(store) == []
    store.close()


def test_the_setting_names_the_key_file(tmp_path):
    db = tmp_path / "replica.db"
    store = SQLiteStore(db)
    key_file = tmp_path / "keys" / "cookies.key"
    create_app(Settings(db=db, secret_key_file=key_file), store)
    assert key_file.exists() and not (tmp_path / "replica.secret").exists()
    store.close()


def test_an_older_databases_key_is_deleted_and_never_trusted_again(tmp_path, caplog, monkeypatch):
    """A copy of an older (0644) database holds that key: a cookie signed with it must not
    open an admin page (as it did: /admin/audit.csv 200)."""
    from itsdangerous import Signer
    from starlette.testclient import TestClient

    from standby.accounts import cookie_key, users
    from standby.web.sessions import COOKIE
    from support.web_site import login

    # another test's logging set-up (dictConfig) may have disabled the module's logger
    monkeypatch.setattr(cookie_key.log, "disabled", False)
    caplog.set_level(logging.WARNING, logger=cookie_key.log.name)
    db = tmp_path / "replica.db"
    store = SQLiteStore(db)
    schema.ensure(store)
    old_key = "an-old-node-key-" * 3
    with store.transaction() as tx:
        tx.execute("INSERT INTO web_secret (id, secret) VALUES (1, ?)", (old_key,))
    users.add_user(store, "admin.lee", "amber kestrel lantern harbour", role="admin", units=["*"])
    app = create_app(Settings(db=db), store)
    assert stored_secrets(store) == []
    assert "deleted the cookie-signing key" in caplog.text
    new_key = (tmp_path / "replica.secret").read_text().strip()
    assert new_key != old_key

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        assert login(c, "admin.lee", "amber kestrel lantern harbour").status_code == 303
        cookie = c.cookies[COOKIE]
        assert c.get("/admin/audit.csv", follow_redirects=False).status_code == 200
    session_id = Signer(new_key, salt="standby.session").unsign(cookie).decode()
    forged = Signer(old_key, salt="standby.session").sign(session_id).decode()
    with TestClient(app, base_url="http://testserver", cookies={COOKIE: forged}) as attacker:
        r = attacker.get("/admin/audit.csv", follow_redirects=False)
    assert r.status_code != 200 and "admin.lee" not in r.text
    store.close()
