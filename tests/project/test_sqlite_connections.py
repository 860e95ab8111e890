"""Every SQLite connection of Standby is opened in one place, `store/encryption.py`, so
that none escapes the encryption at rest or the files' modes (docs/store.md)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "standby"
OPENS = re.compile(r"\b(sqlite3|sqlcipher3)\.connect\(|^\s*from (sqlite3|sqlcipher3) import")


def test_only_the_encryption_module_opens_sqlite_files() -> None:
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).as_posix() != "store/encryption.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OPENS.search(line)
    ]
    assert found == []
