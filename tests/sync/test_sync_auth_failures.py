"""Auth failures against a SMART server over a real socket: a wrong key, an expired
assertion, a revoked client each give a clear error, and nothing is written."""

from __future__ import annotations

import time

import pytest

from standby.settings import load_settings
from standby.store import open_store
from standby.sync.auth import AuthError, SmartBackendAuth
from standby.sync.jwks import generate_private_key, write_private_key
from standby.sync.runner import SyncRunner
from support.sync_crafted_ehr import CraftedEhr, serve


@pytest.fixture()
def keys(tmp_path):
    good = generate_private_key("ES384")
    wrong = generate_private_key("ES384")
    write_private_key(good, tmp_path / "good.pem")
    write_private_key(wrong, tmp_path / "wrong.pem")
    return good, tmp_path


def _state(store) -> tuple:
    from standby.sync.schema import ensure_sync_schema

    ensure_sync_schema(store)
    with store.read_transaction() as tx:
        rows = tx.query("SELECT COUNT(*) FROM sync_source")
    return rows[0][0], store.counts_by_type(), store.get_checkpoint("sync:ehr:bulk:job")


def _runner(base, tmp_path, key_file):
    settings = load_settings(
        source_url=base,
        db=tmp_path / "r.db",
        auth="smart-backend",
        client_id="standby",
        private_key=tmp_path / key_file,
        sync_seed_mode="bulk",
    )
    store = open_store(db=settings.db)
    return SyncRunner(settings, store), store


def test_good_key_gets_a_token(keys):
    good, tmp_path = keys
    ehr = CraftedEhr(clients={"standby": good.public_key()})
    with serve(ehr) as base:
        runner, store = _runner(base, tmp_path, "good.pem")
        runner.check_auth()
        assert runner.run_round().ok
        runner.close()
    store.close()


@pytest.mark.parametrize("case", ["wrong key", "revoked client"])
def test_refused_credentials_leave_no_state(keys, case):
    good, tmp_path = keys
    ehr = CraftedEhr(clients={"standby": good.public_key()})
    if case == "revoked client":
        ehr.revoked.add("standby")
    with serve(ehr) as base:
        runner, store = _runner(base, tmp_path, "wrong.pem" if case == "wrong key" else "good.pem")
        with pytest.raises(
            AuthError, match=r"refused client 'standby' \(HTTP 401\): invalid_client"
        ):
            runner.check_auth()
        runner.close()
    assert _state(store) == (0, {}, None)
    store.close()


def test_expired_assertion_is_refused_clearly(keys):
    good, _ = keys
    ehr = CraftedEhr(clients={"standby": good.public_key()})
    with serve(ehr) as base:
        late = SmartBackendAuth(base, "standby", good, clock=lambda: time.time() - 600)
        with pytest.raises(AuthError, match="ExpiredSignatureError"):
            late.token()


def test_an_ehr_that_goes_down_keeps_the_watch_going_and_reads_unreachable(keys):
    """A token endpoint that cannot be reached is an outage, not a refusal: the watch goes
    on (to catch up when the EHR returns) and status says the source is unreachable."""
    from standby.sync import status

    good, tmp_path = keys
    ehr = CraftedEhr(clients={"standby": good.public_key()})
    with serve(ehr) as base:
        runner, store = _runner(base, tmp_path, "good.pem")
        assert runner.run_round().ok
        runner.auth._token = None  # force a new token
    # the server is gone now: every connection is refused
    runner.watch(rounds=2)  # must not raise
    health = status.sync_health(store)
    assert health.reachable is False
    runner.close()
    store.close()
