"""The FHIR API's tables in the replica database: registered clients, the assertion ids
already used (`jti`, replay), the key access tokens are signed with, search snapshots
(`paging.py`) and Bulk Data export jobs (`export_jobs.py`). Times are text in
`standby.clock`'s stored form, except where noted."""

from __future__ import annotations

import weakref

from standby.store.base import Migration, Store

NAMESPACE = "fhir_api"

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "SMART Backend Services clients, used assertion ids, the token signing key, snapshots",
        "CREATE TABLE fhir_api_clients (client_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " jwks TEXT NOT NULL, scope TEXT NOT NULL, created_at TEXT NOT NULL,"
        " revoked_at TEXT);"
        " CREATE TABLE fhir_api_jti (jti TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
        " expires DOUBLE PRECISION NOT NULL);"
        " CREATE TABLE fhir_api_key (id INTEGER PRIMARY KEY, secret TEXT NOT NULL);"
        " CREATE TABLE fhir_api_snapshots (id TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
        " created DOUBLE PRECISION NOT NULL, seq BIGINT, entries TEXT NOT NULL);"
        " CREATE INDEX fhir_api_snapshots_created ON fhir_api_snapshots (created)",
    ),
    Migration(
        2,
        "Bulk Data export jobs (every worker process answers their status)",
        "CREATE TABLE fhir_api_exports (id TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
        " request TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,"
        " updated DOUBLE PRECISION NOT NULL, transaction_time TEXT NOT NULL,"
        " status TEXT NOT NULL, progress TEXT NOT NULL, manifest TEXT, error TEXT)",
    ),
]

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the API's tables (once per store object)."""
    if store in _ready:
        return
    store.ensure_schema(NAMESPACE, MIGRATIONS)
    _ready.add(store)
