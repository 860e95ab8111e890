"""`standby sync` and `standby status` from the command line, against a server over a real
socket: exit codes, no state after refused credentials, status as JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from standby.cli.main import app
from standby.store import open_store
from standby.sync.jwks import generate_private_key, write_private_key
from support.sync_crafted_ehr import CraftedEhr, serve


def test_sync_once_then_status_json(tmp_path):
    db = tmp_path / "r.db"
    with serve(CraftedEhr()) as base:
        r = CliRunner().invoke(
            app, ["sync", "--source", base, "--db", str(db), "--once", "--seed-mode", "none"]
        )
    assert r.exit_code == 0, r.output
    out = CliRunner().invoke(app, ["status", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    (src,) = doc["sources"]
    assert src["source"] == "ehr" and src["reachable"] is True
    assert src["data_as_of"] is not None and src["lag_seconds"] >= 0
    text = CliRunner().invoke(app, ["status", "--db", str(db)])
    assert "data as of" in text.stdout


def test_sync_with_a_wrong_key_exits_3_and_writes_nothing(tmp_path):
    good, wrong = generate_private_key("ES384"), generate_private_key("RS384")
    write_private_key(wrong, tmp_path / "wrong.pem")
    db = tmp_path / "r.db"
    with serve(CraftedEhr(clients={"standby": good.public_key()})) as base:
        r = CliRunner().invoke(
            app,
            [
                "sync",
                "--source",
                base,
                "--db",
                str(db),
                "--once",
                "--auth",
                "smart-backend",
                "--client-id",
                "standby",
                "--private-key",
                str(tmp_path / "wrong.pem"),
            ],
        )
    assert r.exit_code == 3
    assert "authentication to the source failed" in r.output and "invalid_client" in r.output
    store = open_store(db=db)
    assert store.counts_by_type() == {}
    assert store.get_checkpoint("sync:ehr:bulk:job") is None
    store.close()


def test_sync_without_source_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("STANDBY_SOURCE_URL", raising=False)
    r = CliRunner().invoke(app, ["sync", "--db", str(tmp_path / "r.db"), "--once"])
    assert r.exit_code == 2 and "no source" in r.output


def test_sync_with_the_source_down_says_it_does_not_answer_not_that_auth_failed(tmp_path):
    """A source that does not answer at all (an edge node's central Standby stopped) is not
    a refusal: the message says so (docs/edge-nodes.md), still exit code 3."""
    import socket

    write_private_key(generate_private_key("ES384"), tmp_path / "edge.pem")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(
        app,
        [
            *("sync", "--source", f"http://127.0.0.1:{port}/fhir", "--once"),
            *("--db", str(tmp_path / "r.db"), "--auth", "smart-backend"),
            *("--client-id", "edge", "--private-key", str(tmp_path / "edge.pem")),
        ],
    )
    assert r.exit_code == 3, r.output
    assert "error: the source does not answer: cannot reach" in r.output, r.output
    assert "authentication to the source failed" not in r.output


def test_sync_watch_started_while_the_source_is_down_keeps_trying(tmp_path, monkeypatch):
    """`--watch` started while its source does not answer (an edge node rebooted while the
    central node is down) waits for it instead of exiting: the token request is tried
    again every interval, and the rounds run once it answers."""
    from standby.cli import sync as sync_cli
    from standby.sync.auth import AuthError
    from standby.sync.runner import SyncRunner

    tries: list[int] = []
    real = SyncRunner.check_auth

    def down_twice(self):
        tries.append(1)
        if len(tries) <= 2:
            raise AuthError("cannot reach http://central/fhir: ConnectError", unreachable=True)
        return real(self)

    monkeypatch.setattr(SyncRunner, "check_auth", down_twice)
    monkeypatch.setattr(sync_cli.time, "sleep", lambda s: None)
    db = tmp_path / "r.db"
    with serve(CraftedEhr()) as base:
        r = CliRunner().invoke(
            app,
            [
                *("sync", "--source", base, "--db", str(db), "--watch", "--rounds", "1"),
                *("--seed-mode", "none", "--interval", "0.1"),
            ],
        )
    assert r.exit_code == 0, r.output
    assert len(tries) == 3
    assert r.output.count("the source does not answer: cannot reach") == 2, r.output
    out = CliRunner().invoke(app, ["status", "--db", str(db), "--json"])
    (src,) = json.loads(out.stdout)["sources"]
    assert src["last_round"] == "ok" and src["reachable"] is True
