"""Fixtures of the monitor tests: a fresh replica database per test, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standby.store import Store
from standby.store.sqlite import SQLiteStore


def open_store(path: Path) -> Store:
    return SQLiteStore(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "replica.db")
    yield s
    s.close()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ---- the viewer with logged-in users (for the monitor's pages) --------------------------
PASSWORD = "correct horse battery"
USERS = [("ic.jones", "incident-commander"), ("nurse.lee", "nurse")]


@pytest.fixture
def site(store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The viewer's app over `store`, with an incident commander and a nurse."""
    from argon2 import PasswordHasher

    from standby.accounts import users
    from standby.settings import Settings
    from standby.web.app import create_app

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("dummy"))
    app = create_app(Settings(db=tmp_path / "replica.db"), store)
    for name, role in USERS:
        users.add_user(store, name, PASSWORD, role=role, units=["*"])
    return app


def csrf_of(html: str) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)
