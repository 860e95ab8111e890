"""`standby user add|import|list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from standby.accounts import repository, users
from standby.cli.main import app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "replica.db"


def _store(db: Path) -> Any:
    from standby.store import open_store

    return open_store(db=db, database_url=None)


def test_add_with_password_on_stdin_then_list(db: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "user",
            "add",
            "nurse.kim",
            "--role",
            "nurse",
            "--unit",
            "4W",
            "--unit",
            "ICU",
            "--name",
            "Kim Lee",
            "--password-stdin",
            "--db",
            str(db),
        ],
        input="a long enough password\n",
    )
    assert r.exit_code == 0, r.output
    assert "nurse.kim: nurse, 4W, ICU" in r.output
    store = _store(db)
    user = repository.get_user(store, "nurse.kim")
    assert user is not None and user.units == ("4W", "ICU") and user.display_name == "Kim Lee"
    assert user.password_hash.startswith("$argon2")
    assert users.verify_password(user.password_hash, "a long enough password")
    store.close()
    r = CliRunner().invoke(app, ["user", "list", "--db", str(db)])
    assert r.exit_code == 0 and "nurse.kim\tnurse\t4W,ICU\tKim Lee" in r.output


def test_add_refuses_unknown_role_and_short_password(db: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["user", "add", "x", "--role", "janitor", "--password-stdin", "--db", str(db)],
        input="long enough pw\n",
    )
    assert r.exit_code == 1 and "unknown role 'janitor'" in r.output
    r = CliRunner().invoke(
        app,
        ["user", "add", "x", "--role", "nurse", "--password-stdin", "--db", str(db)],
        input="short\n",
    )
    assert r.exit_code == 1 and "shorter than 10" in r.output


def test_import_csv_reports_bad_lines_and_keeps_good_ones(db: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(
        "username,password,role,units,name\n"
        "doc.a,tulip orbit lantern,physician,4W;ICU,Dr A\n"
        "bad.b,copper meadow kettle,wizard,4W,Bad B\n"
        "ic.c,violet harbour anchor,incident-commander,*,IC C\n"
    )
    r = CliRunner().invoke(app, ["user", "import", str(csv_file), "--db", str(db)])
    assert r.exit_code == 1
    assert "users.csv:3: unknown role 'wizard'" in r.output
    assert "imported 2 account(s), 1 refused" in r.output
    store = _store(db)
    names = [u.username for u in repository.list_users(store)]
    ic = repository.get_user(store, "ic.c")
    store.close()
    assert names == ["doc.a", "ic.c"]
    assert ic is not None and ic.all_units
