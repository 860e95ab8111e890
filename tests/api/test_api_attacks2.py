"""The attack pass's findings left open (issue 19): chained searches, scopes with write
letters. Each test is one attack that worked before its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
from typer.testing import CliRunner

from standby.api import smart
from standby.cli.main import app
from standby.store import open_store
from standby.sync.jwks import generate_private_key, jwks
from support.fhir_api import ApiSite, small_replica


def test_a_chained_search_is_refused_naming_the_parameter(api_site: ApiSite) -> None:
    """`Observation?subject:Patient.name=x` used to answer an empty searchset: a client
    took "no results" for "no such observations"."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    for q in ("subject:Patient.name=x", "subject.name=x", "patient.identifier=a|b"):
        r = c.get(f"/fhir/Observation?{q}", headers=h)
        assert r.status_code == 400, (q, r.text)
        oo = r.json()
        assert oo["resourceType"] == "OperationOutcome"
        said = oo["issue"][0]["diagnostics"]
        assert q.split("=")[0] in said and "chain" in said, said
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = c.post("/fhir/Observation/_search", content="subject.name=x", headers={**h, **form})
    assert r.status_code == 400
    # the CapabilityStatement says so, and never lists a chain
    cs = c.get("/fhir/metadata").json()
    rest = cs["rest"][0]
    assert "Chained parameters" in rest["documentation"]
    obs = next(r for r in rest["resource"] if r["type"] == "Observation")
    subject = next(p for p in obs["searchParam"] if p["name"] == "subject")
    assert "no chaining" in subject["documentation"]
    assert not any("." in p["name"] for r in rest["resource"] for p in r["searchParam"])


def _claims(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_a_token_says_what_is_really_granted(api_site: ApiSite) -> None:
    """`scope=system/Location.cruds` used to be granted as asked (a token claiming write
    access); it is read and search, so the token says `.rs`."""
    api_site.register("beds", "system/Location.rs")
    for asked, granted in (
        ("system/Location.cruds", "system/Location.rs"),
        ("system/Location.*", "system/Location.read"),
        ("system/Location.rs system/Location.cud", "system/Location.rs"),
        ("system/Location.cru", "system/Location.r"),
    ):
        r = api_site.token_response("beds", asked)
        assert r.json()["scope"] == granted, asked
        assert _claims(r)["scope"] == granted
    for asked in ("system/Location.cud", "system/Location.write", "system/Location.c"):
        r = api_site.token_response("beds", asked)
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope", asked


def test_a_registration_with_write_letters_is_narrowed_or_refused(tmp_path: Path) -> None:
    """`standby clients add --scope system/Location.cruds` used to register the write
    letters as they were; now narrowed (and said so), or refused when nothing is left."""
    assert smart.check_scope("system/Location.cruds system/*.*") == (
        "system/Location.rs system/*.read"
    )
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    store.close()
    keys = tmp_path / "beds.jwks.json"
    keys.write_text(json.dumps(jwks(generate_private_key("ES384"))))
    run = CliRunner()
    env = {"STANDBY_DB_ENCRYPTION": "off"}

    def add(scope: str) -> Any:
        argv = ["clients", "add", "beds", "--jwks", str(keys), "--scope", scope, "--db", str(db)]
        return run.invoke(app, argv, env=env)

    added = add("system/Location.cruds")
    assert added.exit_code == 0, added.output
    assert "system/Location.rs" in added.stderr and "read-only" in added.stderr
    listed = run.invoke(app, ["clients", "list", "--db", str(db)], env=env)
    assert listed.stdout.split("\t")[2] == "system/Location.rs"
    refused = add("system/Location.cud")
    assert refused.exit_code == 2
    assert "allows neither read (r) nor search (s)" in refused.stderr


def test_serve_warns_when_clients_are_registered_without_a_base_url(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Unset, STANDBY_FHIR_BASE_URL leaves the Host-header replay open: `standby serve`
    used to start without a word about it."""
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: None)
    monkeypatch.delenv("STANDBY_FHIR_BASE_URL", raising=False)
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    assert smart.audience_warning(store, "") is None  # no client: nothing to replay
    smart.add_client(store, name="beds", jwks=jwks(generate_private_key()), scope="system/*.read")
    said = smart.audience_warning(store, "")
    assert said and "STANDBY_FHIR_BASE_URL" in said and "replay" in said
    assert smart.audience_warning(store, "https://standby.example/fhir") is None
    store.close()
    env = {"STANDBY_DB_ENCRYPTION": "off"}
    argv = ["serve", "--no-monitor", "--db", str(db), "--port", "0"]
    r = CliRunner().invoke(app, argv, env=env)
    assert r.exit_code == 0, r.output
    assert "WARNING: STANDBY_FHIR_BASE_URL is not set" in r.stderr
    quiet = CliRunner().invoke(app, argv, env={**env, "STANDBY_FHIR_BASE_URL": "https://s/fhir"})
    assert quiet.exit_code == 0, quiet.output
    assert "WARNING" not in quiet.stderr
