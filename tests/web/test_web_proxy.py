"""Forwarded headers (X-Forwarded-For, -Proto) are believed only from a trusted proxy."""

from __future__ import annotations

import httpx

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from support.web_server import served
from support.web_site import PASSWORD, Site, csrf_of


def _login(c: httpx.Client, username: str, password: str, **headers: str) -> httpx.Response:
    page = c.get("/login", headers=headers)
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        headers=headers,
    )


def test_forged_forwarded_for_neither_bypasses_lockout_nor_enters_the_audit(
    mini_site: Site,
) -> None:
    settings = mini_site.settings
    with served(settings, mini_site.app) as url, httpx.Client(base_url=url) as c:
        for i in range(settings.login_max_failures + 3):
            _login(c, "nurse.a", "wrong password", **{"x-forwarded-for": f"203.0.113.{i}"})
        r = _login(c, "nurse.a", PASSWORD, **{"x-forwarded-for": "203.0.113.200"})
        assert r.status_code == 429, "a forged X-Forwarded-For got round the lockout"
    events = repository.search_audit(mini_site.store, AuditQuery(username="nurse.a"))
    assert events and {e.address for e in events} == {"127.0.0.1"}


def test_a_trusted_proxy_is_believed(mini_site: Site) -> None:
    settings = mini_site.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with served(settings, mini_site.app) as url, httpx.Client(base_url=url) as c:
        r = _login(c, "nurse.a", "wrong password", **{"x-forwarded-for": "198.51.100.7"})
        assert r.status_code == 401
    events = repository.search_audit(mini_site.store, AuditQuery(action="login-failed"))
    assert [e.address for e in events] == ["198.51.100.7"]


def test_a_trusted_proxy_saying_https_gets_a_secure_cookie_and_hsts(mini_site: Site) -> None:
    settings = mini_site.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    https = {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.7"}
    with served(settings, mini_site.app) as url, httpx.Client(base_url=url) as c:
        r = c.get("/login", headers=https)  # the login form's cookie: Secure like the session's
        assert "Secure" in r.headers["set-cookie"]
        assert "strict-transport-security" in r.headers
    with served(mini_site.settings, mini_site.app) as url, httpx.Client(base_url=url) as c:
        r = c.get("/login", headers=https)
        assert "Secure" not in r.headers["set-cookie"]
        assert "strict-transport-security" not in r.headers
