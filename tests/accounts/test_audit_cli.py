"""`standby audit verify|anchor|archive` on a replica file, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.accounts import repository, schema
from standby.accounts.records import AuditEvent
from standby.cli.main import app
from standby.store.sqlite import SQLiteStore
from support.audit_tamper import tamper


def event(day: int, n: int) -> AuditEvent:
    return AuditEvent(
        f"2026-11-{day:02d}T08:00:{n:02d}.000000Z",
        "nurse.a",
        "nurse",
        "view",
        f"p{n}",
        f"/patient/p{n}",
        "10.0.0.1",
        "",
    )


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("AUDIT_ANCHOR_FILE", "AUDIT_KEY_FILE", "AUDIT_RETENTION_DAYS", "DATABASE_URL"):
        monkeypatch.delenv(f"STANDBY_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "replica.db"
    store = SQLiteStore(path)
    schema.ensure(store)
    repository.append_audit_many(store, [event(d, n) for d in (1, 2, 3) for n in (1, 2, 3)])
    store.close()
    return path


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["audit", *args])
    return r.exit_code, r.output


def test_verify_anchor_archive_and_verify_again(db: Path, tmp_path: Path) -> None:
    code, out = run("verify", "--db", str(db))
    assert code == 0 and "audit chain intact: lines 1-9 (9 lines)" in out, out
    code, out = run("anchor", "--db", str(db))
    assert code == 0 and "anchored line 9" in out
    assert Path(f"{db}.audit-anchors").is_file()
    code, out = run("archive", "--db", str(db), "--before", "2026-11-03", "--out", "arch")
    assert code == 0 and "archived lines 1-6 (6)" in out, out
    key = Path(f"{db}.audit-key")
    assert (key.stat().st_mode & 0o777) == 0o600
    code, out = run("verify", "--db", str(db))
    assert code == 0 and "lines 7-9 (3 lines), starting after line 6" in out, out
    assert "anchors: 1 checked" in out
    assert "archive records: signatures checked" in out
    [file] = list((tmp_path / "arch").iterdir())
    code, out = run("verify", "--db", str(db), "--archive", str(file))
    assert code == 0 and "intact: lines 1-6 (6)" in out and "recorded in the database" in out
    file.write_text(file.read_text().replace("nurse.a", "admin.b", 1))
    code, out = run("verify", "--db", str(db), "--archive", str(file))
    assert code == 1 and "BROKEN" in out and "signature" in out


def test_verify_names_the_first_broken_line(db: Path) -> None:
    store = SQLiteStore(db)
    tamper(store, "UPDATE web_audit SET page = '/elsewhere' WHERE id = 4")
    store.close()
    code, out = run("verify", "--db", str(db))
    assert code == 1
    assert "audit chain BROKEN at line 4: line 4 does not match its hash" in out


def test_archive_needs_a_date_or_a_retention(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run("archive", "--db", str(db), "--out", "arch")
    assert code == 2 and "STANDBY_AUDIT_RETENTION_DAYS" in out
    code, out = run("archive", "--db", str(db), "--out", "arch", "--before", "last week")
    assert code == 2 and "give a date" in out
    monkeypatch.setenv("STANDBY_AUDIT_RETENTION_DAYS", "36500")
    code, out = run("archive", "--db", str(db), "--out", "arch")
    assert code == 0 and "nothing archived" in out
