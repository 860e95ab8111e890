"""`standby.accounts` stands on the store alone, and keeps the tables and migration history
the viewer created (docs/architecture.md, docs/web.md#storage)."""

from __future__ import annotations

import ast
from pathlib import Path

from standby.accounts import repository, schema, users
from standby.store import open_store

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "standby" / "accounts"


def _standby_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n.split(".")[1] for n in names if n.startswith("standby.")}
    return out


def test_accounts_imports_only_the_store() -> None:
    found = {p.name: _standby_imports(p) - {"accounts", "store"} for p in PACKAGE.glob("*.py")}
    assert {name: extra for name, extra in found.items() if extra} == {}


def test_a_database_migrated_by_the_viewer_keeps_its_history(tmp_path: Path) -> None:
    """A replica whose accounts tables were made under the viewer's namespace "web" gets
    only the migrations it lacks, and its accounts still log in."""
    store = open_store(db=tmp_path / "old.db")
    try:
        store.ensure_schema("web", schema.MIGRATIONS[:10])
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO web_users (username, password_hash, role, units, display_name,"
                " active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    "old.nurse",
                    users.hash_password("an old password"),
                    "nurse",
                    "4W",
                    "Old Nurse",
                    1,
                    "2026-01-01T00:00:00.000Z",
                ),
            )
        schema.ensure(store)
        with store.read_transaction() as tx:
            versions = [
                int(v)
                for (v,) in tx.query(
                    "SELECT version FROM schema_migrations WHERE namespace = ? ORDER BY version",
                    ("web",),
                )
            ]
        assert versions == [m.version for m in schema.MIGRATIONS]
        user = repository.get_user(store, "old.nurse")
        assert user is not None and users.verify_password(user.password_hash, "an old password")
    finally:
        store.close()
