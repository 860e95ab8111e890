"""PostgreSQL: the URL's parameters (sslmode, ...) reach the connection, and a node runs as
a role that reads and writes rows but cannot change the schema — `standby migrate` runs
the DDL as the owner (docs/store.md#postgresql-roles, docs/security.md#postgresql)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

from standby.accounts import repository, users
from standby.cli.main import app
from standby.settings import Settings
from standby.store import StoreError, open_store
from standby.store.postgres import PostgresStore
from standby.sync.schema import ensure_sync_schema
from standby.web.app import create_app
from support.postgres import postgres_url

pytestmark = pytest.mark.postgres


@dataclass
class Roles:
    owner_url: str
    runtime_url: str
    runtime: str


def as_user(url: str, user: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params.update(user=user, dbname=dbname)
    params.pop("password", None)
    return make_conninfo("", **params)


@pytest.fixture
def roles() -> Iterator[Roles]:
    url = postgres_url()
    tag = uuid.uuid4().hex[:10]
    owner, runtime, db = f"standby_owner_{tag}", f"standby_app_{tag}", f"t_roles_{tag}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{runtime}" LOGIN')
        conn.execute(f'CREATE DATABASE "{db}" OWNER "{owner}"')
    try:
        yield Roles(as_user(url, owner, db), as_user(url, runtime, db), runtime)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{runtime}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')


def patient(i: int) -> bytes:
    return orjson.dumps({"resourceType": "Patient", "id": f"p{i}", "birthDate": "1961-04-05"})


def test_the_urls_parameters_reach_the_connection():
    url = postgres_url()
    sep = "&" if "?" in url else "?"
    store = PostgresStore(f"{url}{sep}application_name=standby-url-check")
    try:
        with store.read_transaction() as tx:
            name = tx.query("SELECT current_setting('application_name')")[0][0]
        assert name == "standby-url-check"
    finally:
        store.close()


def test_sslmode_in_the_url_is_what_the_connection_uses():
    url = postgres_url()
    with psycopg.connect(url) as conn:
        ssl_on = conn.execute("SHOW ssl").fetchone() == ("on",)
    sep = "&" if "?" in url else "?"
    if ssl_on:  # a server with TLS: the connection is encrypted
        store = PostgresStore(f"{url}{sep}sslmode=require")
        with store.read_transaction() as tx:
            used = tx.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0][0]
        store.close()
        assert used is True
    else:  # a server without: `require` refuses to connect rather than go in clear
        with pytest.raises(psycopg.OperationalError, match="SSL"):
            PostgresStore(f"{url}{sep}sslmode=require")


def test_the_runtime_role_syncs_and_serves_but_cannot_change_the_schema(roles, tmp_path):
    # before the owner migrates, the runtime role cannot create the tables: a clear error
    with pytest.raises(StoreError, match="standby migrate"):
        open_store(database_url=roles.runtime_url)

    r = CliRunner().invoke(
        app, ["migrate", "--database-url", roles.owner_url, "--grant-to", roles.runtime]
    )
    assert r.exit_code == 0, r.output

    store = open_store(database_url=roles.runtime_url)
    try:
        # what sync does: resources and a checkpoint in one transaction, its own tables
        ensure_sync_schema(store)
        store.upsert_many([patient(i) for i in range(5)], checkpoint=("Patient", "t1"))
        store.tombstone("Patient", "p4")
        assert store.read("Patient", "p1") is not None
        # what serve does: the viewer over it, accounts, sessions, the audit
        create_app(Settings(database_url=roles.runtime_url, secret_key_file=tmp_path / "s"), store)
        users.add_user(
            store, "nurse.kim", "amber kestrel lantern harbour", role="nurse", units=["ICU"]
        )
        assert repository.get_user(store, "nurse.kim") is not None
    finally:
        store.close()

    with psycopg.connect(roles.runtime_url, autocommit=True) as conn:
        for ddl in (
            "CREATE TABLE intruder (x int)",
            "DROP TABLE resource",
            "ALTER TABLE resource ADD COLUMN x int",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(ddl)
