"""Fixtures of the viewer's tests: a store, an app with a settable clock, logged-in clients.

`hospital`: the SQLite replica of the synthetic hospital (NDJSON generated and ingested
once per session, a fresh copy of the database per test). `mini_site`: an empty
replica, for the account, session and audit tests that need no patients."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from standby.accounts import users
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Site:
    app: Any
    store: Any
    clock: Clock
    settings: Settings

    def client(self, address: str = "10.0.0.1", base_url: str = "http://testserver") -> TestClient:
        return TestClient(
            self.app, client=(address, 50000), follow_redirects=False, base_url=base_url
        )

    def login(
        self, username: str, password: str = PASSWORD, address: str = "10.0.0.1"
    ) -> TestClient:
        c = self.client(address)
        r = login(c, username, password)
        assert r.status_code == 303, r.text
        return c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def login(c: TestClient, username: str, password: str) -> Any:
    page = c.get("/login")
    return c.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
    )


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests (production keeps argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("dummy"))


@pytest.fixture
def mini_site(tmp_path: Path) -> Iterator[Site]:
    store = open_store(db=tmp_path / "web.db")
    yield _mini_over(store, Settings(db=tmp_path / "web.db", **MINI_LIMITS))
    store.close()


MINI_LIMITS: dict[str, Any] = {
    "login_max_failures": 3,
    "login_address_max_failures": 6,
    "session_idle_minutes": 30,
}


def _mini_over(store: Any, settings: Settings) -> Site:
    clock = Clock()
    app = create_app(settings, store, clock=clock)
    for name, role, units in [
        ("nurse.a", "nurse", ["4W"]),
        ("admin.a", "admin", []),
        ("sched.a", "scheduler", []),
    ]:
        users.add_user(store, name, PASSWORD, role=role, units=units)
    return Site(app, store, clock, settings)


# ---- the synthetic hospital ----------------------------------------------------------------
ROLES_AND_UNITS = {
    "nurse": "nurse",
    "physician": "physician",
    "pharmacist": "pharmacist",
    "scheduler": "scheduler",
    "ic": "incident-commander",
    "admin": "admin",
    "nurse2": "nurse",  # on another unit
    "registrar": "registrar",  # every unit
    "clerk": "clerk",
}


@pytest.fixture(scope="session")
def hospital_ndjson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 20-bed synthetic hospital as NDJSON, generated once per session."""
    generate = pytest.importorskip("standby.sim.generate")
    out = tmp_path_factory.mktemp("hospital-ndjson")
    generate.generate_hospital(beds=20, seed=11, out=out)
    return out


def _ingest(store: Any, ndjson: Path) -> None:
    for f in sorted(ndjson.glob("*.ndjson")):
        with f.open("rb") as fh:
            store.ingest_ndjson(fh, file=str(f))


@pytest.fixture(scope="session")
def hospital_db(hospital_ndjson: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replica of it, ingested once per session (each test works on its own copy)."""

    db = tmp_path_factory.mktemp("hospital") / "replica.db"
    store = open_store(db=db)
    try:
        _ingest(store, hospital_ndjson)
    finally:
        store.close()
    return db


@dataclass
class Hospital(Site):
    unit_id: str = ""
    other_unit_id: str = ""


def _copy_db(src: Path, dst: Path) -> None:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        s = Path(str(src) + suffix)
        if s.exists():
            shutil.copy(s, Path(str(dst) + suffix))


@pytest.fixture
def hospital(hospital_db: Path | None, hospital_ndjson: Path, tmp_path: Path) -> Iterator[Hospital]:
    """The app over a fresh copy of the hospital, with one account per role (password
    PASSWORD): `nurse`, `physician`, `pharmacist` on `unit_id`; `nurse2` on
    `other_unit_id`; `scheduler`, `ic`, `admin`."""
    db = tmp_path / "replica.db"
    _copy_db(hospital_db, db)
    store = open_store(db=db)
    yield _hospital_over(store, Settings(db=db, login_max_failures=3, session_idle_minutes=30))
    store.close()


def _hospital_over(store: Any, settings: Settings) -> Hospital:
    from standby import clinical

    clock = Clock()
    clock.now = datetime.now(UTC).replace(microsecond=0)
    units = clinical.units(store)
    occupied = []
    for u in units:
        c = clinical.unit_census(store, u.id, clock.now)
        if c.patients:
            occupied.append(u.id)
    assert len(occupied) >= 2, "the synthetic hospital should fill two units"
    unit_id, other = occupied[0], occupied[1]
    for name, role in ROLES_AND_UNITS.items():
        unit = other if name == "nurse2" else unit_id
        units_of = [unit] if role in ("nurse", "physician", "pharmacist", "clerk") else []
        units_of = ["*"] if role == "registrar" else units_of
        users.add_user(store, name, PASSWORD, role=role, units=units_of, display_name=name.title())
    app = create_app(settings, store, clock=clock)
    return Hospital(app, store, clock, settings, unit_id, other)


# ---- the same on PostgreSQL --------------------------------------------------------------------
@contextlib.contextmanager
def _pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A throwaway database (a copy of `template` when given); yields its URL."""
    import secrets

    import psycopg

    from support.postgres import postgres_url

    admin = postgres_url()
    name = f"{prefix}_{secrets.token_hex(4)}"
    copy = f" TEMPLATE {template}" if template else ""
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}{copy}")
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_hospital_template(hospital_ndjson: Path) -> Iterator[str]:
    """A PostgreSQL database holding the ingested hospital, once per session: each test
    gets a copy (`CREATE DATABASE ... TEMPLATE`). Yields its name."""
    with _pg_database("web_tpl") as url:
        store = open_store(database_url=url)
        try:
            _ingest(store, hospital_ndjson)
        finally:
            store.close()
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def pg_hospital(pg_hospital_template: str, tmp_path: Path) -> Iterator[Hospital]:
    """`hospital`, with the replica (and the viewer's tables) in PostgreSQL."""
    with _pg_database("web", template=pg_hospital_template) as url:
        store = open_store(database_url=url)
        try:
            yield _hospital_over(
                store,
                Settings(
                    database_url=url,
                    secret_key_file=tmp_path / "web.secret",
                    login_max_failures=3,
                    session_idle_minutes=30,
                ),
            )
        finally:
            store.close()


@pytest.fixture
def pg_mini_site(tmp_path: Path) -> Iterator[Site]:
    """`mini_site` on an empty PostgreSQL database."""
    with _pg_database("web") as url:
        store = open_store(database_url=url)
        try:
            settings = Settings(
                database_url=url, secret_key_file=tmp_path / "web.secret", **MINI_LIMITS
            )
            yield _mini_over(store, settings)
        finally:
            store.close()
