"""The password policy: long enough, not common, not made of the username (zxcvbn)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.accounts import users
from standby.cli.main import app
from standby.store import open_store


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("nurse.a", "12345678"),
        ("nurse.a", "1234567890"),
        ("nurse.a", "password123"),
        ("admin", "adminadmin"),
        ("admin", "admin"),
        ("nurse.a", "nurse.a-2026!"),
        ("kim.lee", "Kim.Lee.Kim.Lee"),
        ("nurse.a", "qwertyuiop"),
        ("nurse.a", "short"),
    ],
)
def test_weak_or_username_derived_passwords_are_refused(username: str, password: str) -> None:
    with pytest.raises(ValueError, match="password"):
        users.check_password(username, password)


@pytest.mark.parametrize(
    "password", ["correct horse battery", users.DEMO_PASSWORD, "a long enough password"]
)
def test_strong_passwords_pass(password: str) -> None:
    users.check_password("nurse.a", password)


def test_add_user_applies_the_policy(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "p.db")
    try:
        with pytest.raises(ValueError, match=r"common|guess|username"):
            users.add_user(store, "admin.b", "admin.b-admin.b", role="admin", units=[])
        with pytest.raises(ValueError, match=r"common|guess|username"):
            users.add_user(store, "nurse.b", "1234567890", role="nurse", units=["4W"])
        users.add_user(store, "nurse.c", users.DEMO_PASSWORD, role="nurse", units=["4W"])
    finally:
        store.close()


def test_cli_add_refuses_a_common_password_with_the_reason(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["user", "add", "x.y", "--role", "nurse", "--password-stdin", "--db", str(tmp_path / "d")],
        input="12345678\n",
    )
    assert r.exit_code == 1 and "error: password" in r.output
