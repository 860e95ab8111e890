"""Lockout that an attacker cannot turn into a denial of service: per account and address,
with a doubling wait; atomic under concurrent guesses; unlock, disable, enable; a reset
ends the sessions; refusals from a blocked address are written once per interval."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from standby.accounts import repository, users
from standby.accounts.records import AuditQuery
from standby.cli.main import app as cli
from support.web_site import PASSWORD, Site, TestClient, csrf_of, login


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(mini_site: Site) -> None:
    attacker = mini_site.client("10.6.6.6")
    for _ in range(10):
        login(attacker, "nurse.a", "wrong password")
    assert login(attacker, "nurse.a", PASSWORD).status_code == 429
    # the nurse at her own workstation still gets in
    assert login(mini_site.client("10.0.0.1"), "nurse.a", PASSWORD).status_code == 303


def test_the_wait_doubles_rather_than_a_hard_lock(mini_site: Site) -> None:
    c = mini_site.client()
    limit = mini_site.settings.login_max_failures
    for _ in range(limit):
        assert login(c, "nurse.a", "wrong password").status_code == 401
    first = login(c, "nurse.a", "wrong password")
    assert first.status_code == 429
    wait = int(first.headers["retry-after"])
    assert 0 < wait <= mini_site.settings.login_backoff_seconds
    mini_site.clock.advance(seconds=wait + 1)
    assert login(c, "nurse.a", "wrong password").status_code == 401  # one more try
    second = login(c, "nurse.a", "wrong password")
    assert second.status_code == 429 and int(second.headers["retry-after"]) > wait
    mini_site.clock.advance(minutes=16)
    assert login(c, "nurse.a", PASSWORD).status_code == 303


def test_many_addresses_slow_the_account_except_where_it_logged_in_before(
    mini_site: Site,
) -> None:
    mini_site.app.state.web.policy = users.LoginPolicy(
        max_failures=3, account_max_failures=5, address_max_failures=6
    )
    mini_site.login("nurse.a", address="10.0.0.1")  # her workstation
    for i in range(5):
        login(mini_site.client(f"10.7.7.{i}"), "nurse.a", "wrong password")
    assert login(mini_site.client("10.8.8.8"), "nurse.a", PASSWORD).status_code == 429
    assert login(mini_site.client("10.0.0.1"), "nurse.a", PASSWORD).status_code == 303


class CountingHasher(PasswordHasher):
    """argon2 that counts its verifications (parameters near production's, so that a
    verification takes as long as it does there: the window a race needs)."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=32768, parallelism=1)
        self.verified = 0
        self.lock = threading.Lock()

    def verify(self, hash: Any, password: Any) -> bool:
        with self.lock:
            self.verified += 1
        return super().verify(hash, password)


def test_concurrent_guesses_get_no_more_verifications_than_the_limit(
    mini_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    users.add_user(mini_site.store, "target.a", PASSWORD, role="nurse", units=["4W"])
    hasher.verified = 0
    clients: list[tuple[TestClient, str]] = []
    for _ in range(40):
        c = mini_site.client("10.6.6.6")
        clients.append((c, csrf_of(c.get("/login").text)))
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def guess(c: TestClient, token: str) -> None:
        start.wait()
        r = c.post(
            "/login",
            data={"username": "target.a", "password": "a wrong guess", "csrf_token": token},
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=ct) for ct in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 40
    assert hasher.verified <= mini_site.settings.login_max_failures
    assert statuses.count(401) == hasher.verified


def test_a_password_reset_unlocks_and_ends_the_sessions(mini_site: Site) -> None:
    session = mini_site.login("nurse.a", address="10.0.0.9")
    assert session.get("/search").status_code == 200
    c = mini_site.client()
    for _ in range(5):
        login(c, "nurse.a", "wrong password")
    assert login(c, "nurse.a", PASSWORD).status_code == 429
    users.add_user(mini_site.store, "nurse.a", "a brand new password", role="nurse", units=["4W"])
    assert session.get("/search").status_code == 303  # the old session ended
    assert login(c, "nurse.a", "a brand new password").status_code == 303


def _cli(mini_site: Site, *args: str) -> Any:
    return CliRunner().invoke(cli, ["user", *args, "--db", str(mini_site.settings.db)])


def test_user_unlock_disable_enable_commands(mini_site: Site) -> None:
    c = mini_site.client()
    for _ in range(5):
        login(c, "nurse.a", "wrong password")
    assert login(c, "nurse.a", PASSWORD).status_code == 429
    r = _cli(mini_site, "unlock", "nurse.a")
    assert r.exit_code == 0, r.output
    session = mini_site.login("nurse.a")
    r = _cli(mini_site, "disable", "nurse.a")
    assert r.exit_code == 0, r.output
    assert session.get("/search").status_code == 303
    assert login(mini_site.client(), "nurse.a", PASSWORD).status_code == 401
    assert _cli(mini_site, "enable", "nurse.a").exit_code == 0
    assert login(mini_site.client(), "nurse.a", PASSWORD).status_code == 303
    assert _cli(mini_site, "unlock", "nobody.here").exit_code == 1


def test_admin_page_unlocks_disables_and_enables(mini_site: Site) -> None:
    c = mini_site.client()
    for _ in range(5):
        login(c, "nurse.a", "wrong password")
    admin = mini_site.login("admin.a")
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/nurse.a/unlock", data={"csrf_token": token})
    assert r.status_code == 303
    assert login(c, "nurse.a", PASSWORD).status_code == 303
    r = admin.post("/admin/users/nurse.a/disable", data={"csrf_token": token})
    assert r.status_code == 303
    assert repository.get_user(mini_site.store, "nurse.a").active is False  # type: ignore[union-attr]
    admin.post("/admin/users/nurse.a/enable", data={"csrf_token": token})
    assert repository.get_user(mini_site.store, "nurse.a").active is True  # type: ignore[union-attr]
    nurse = mini_site.login("nurse.a", address="10.0.0.3")
    assert nurse.post("/admin/users/admin.a/disable", data={"csrf_token": token}).status_code == 403
    actions = repository.search_audit(mini_site.store, AuditQuery(action="account"))
    assert [e.detail for e in actions][::-1][:3] == [
        "unlock nurse.a",
        "disable nurse.a",
        "enable nurse.a",
    ]


def test_refusals_from_a_blocked_address_are_written_once_per_interval(mini_site: Site) -> None:
    c = mini_site.client("10.6.6.6")
    for i in range(6):
        login(c, f"nobody{i}", "guess guess")
    for _ in range(50):
        assert login(c, "admin.a", "guess guess").status_code == 429
    refused = repository.search_audit(mini_site.store, AuditQuery(action="login-refused"))
    assert len(refused) == 1
    mini_site.clock.advance(seconds=mini_site.settings.audit_refusal_interval_seconds + 1)
    assert login(c, "admin.a", "guess guess").status_code == 401  # the wait is over: one try
    assert login(c, "admin.a", "guess guess").status_code == 429
    refused = repository.search_audit(mini_site.store, AuditQuery(action="login-refused"))
    assert len(refused) == 2
    assert "49 more refused" in refused[0].detail
