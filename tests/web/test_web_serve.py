"""`standby serve`'s app factory (what each uvicorn worker process builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.web_site import PASSWORD, TestClient, login


def test_app_factory_reads_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("standby.store.sqlite")
    from standby.accounts import users
    from standby.cli.serve import app_factory
    from standby.store import open_store

    db = tmp_path / "served.db"
    store = open_store(db=db)
    users.add_user(store, "admin.s", PASSWORD, role="admin", units=[])
    store.close()
    monkeypatch.setenv("STANDBY_DB", str(db))
    a, b = app_factory(), app_factory()  # two workers share sessions through the database
    c1 = TestClient(a, follow_redirects=False)  # type: ignore[arg-type]
    assert login(c1, "admin.s", PASSWORD).status_code == 303
    c2 = TestClient(b, follow_redirects=False, cookies=c1.cookies)  # type: ignore[arg-type]
    assert c2.get("/admin/users").status_code == 200
