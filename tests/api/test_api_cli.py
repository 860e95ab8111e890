"""`standby clients add|list|remove`: a client registered on the command line gets a token
and reads; once removed it gets none."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from standby.cli.main import app
from standby.settings import Settings
from standby.store import open_store
from standby.sync.jwks import generate_private_key, jwks
from standby.web.app import create_app
from support.fhir_api import ApiSite, Registered, small_replica


def test_clients_add_list_remove(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    store.close()
    key = generate_private_key("RS384")
    keys = tmp_path / "cabinets.jwks.json"
    keys.write_text(json.dumps(jwks(key)))
    run = CliRunner()
    env = {"STANDBY_DB_ENCRYPTION": "off"}
    added = run.invoke(
        app,
        ["clients", "add", "cabinets", "--jwks", str(keys), "--scope", "system/Patient.rs",
         "--db", str(db)],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    client_id = added.output.strip()
    listed = run.invoke(app, ["clients", "list", "--db", str(db)], env=env)
    assert listed.output.split("\t")[:3] == [client_id, "cabinets", "system/Patient.rs"]

    store = open_store(db=db)
    try:
        site = ApiSite(store, Settings(db=db), create_app(Settings(db=db), store))
        site.clients["cabinets"] = Registered(client_id, key)
        c = site.http()
        assert c.get("/fhir/Patient/pat-1", headers=site.headers("cabinets")).status_code == 200
        removed = run.invoke(app, ["clients", "remove", client_id, "--db", str(db)], env=env)
        assert removed.exit_code == 0, removed.output
        assert site.token_response("cabinets").status_code == 401
    finally:
        store.close()
    again = run.invoke(app, ["clients", "remove", client_id, "--db", str(db)], env=env)
    assert again.exit_code == 1


def test_clients_add_refuses_a_bad_scope_or_file(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    keys = tmp_path / "k.json"
    keys.write_text(json.dumps(jwks(generate_private_key())))
    env = {"STANDBY_DB_ENCRYPTION": "off"}
    run = CliRunner()
    args = ["clients", "add", "x", "--jwks", str(keys), "--db", str(db)]
    bad = run.invoke(app, [*args, "--scope", "user/*.read"], env=env)
    assert bad.exit_code == 2 and "scope" in bad.output
    missing = run.invoke(
        app,
        ["clients", "add", "x", "--jwks", str(tmp_path / "none.json"), "--db", str(db)],
        env=env,
    )
    assert missing.exit_code == 2
