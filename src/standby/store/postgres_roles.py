"""The runtime role of a PostgreSQL replica: it may read and write rows, never change the
schema. The owner runs `standby migrate`, then grants the node's role these rights
(docs/store.md#postgresql-roles); a node compromised through the viewer then cannot drop
or alter a table (or the audit log's protections with it).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# What the runtime role is given, in the schema the replica lives in (run by its owner).
# The default privileges cover the tables and sequences of later migrations.
RUNTIME_GRANTS = (
    "GRANT USAGE ON SCHEMA {schema} TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
    " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
)


def grant_runtime(owner_url: str, role: str, *, schema: str = "public") -> None:
    """Give `role` the runtime rights on the replica at `owner_url` (connected as owner)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {db} TO {role}").format(
                db=sql.Identifier(str(database[0])), role=sql.Identifier(role)
            )
        )
        for statement in RUNTIME_GRANTS:
            conn.execute(
                sql.SQL(statement).format(schema=sql.Identifier(schema), role=sql.Identifier(role))
            )
