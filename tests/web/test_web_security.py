"""Login, lockout, sessions, CSRF, roles and the audit log's append-only rule."""

from __future__ import annotations

import sqlite3

import pytest

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from support.web_site import PASSWORD, Site, csrf_of, login


def test_pages_need_login_and_redirect_to_it(mini_site: Site) -> None:
    c = mini_site.client()
    r = c.get("/admin/audit?user=x")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Fadmin%2Faudit%3Fuser%3Dx")


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(mini_site: Site) -> None:
    c = mini_site.client()
    r = login(c, "admin.a", PASSWORD)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "standby_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http in tests; configurable
    page = c.get("/admin/users")
    assert page.status_code == 200 and "nurse.a" in page.text
    assert page.headers["cache-control"] == "no-store"
    c.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert c.get("/admin/users").status_code == 303


def test_secure_cookie_over_https_or_when_configured(mini_site: Site) -> None:
    r = login(mini_site.client(base_url="https://testserver"), "admin.a", PASSWORD)
    assert "Secure" in r.headers["set-cookie"]
    mini_site.app.state.web.settings = mini_site.settings.model_copy(update={"cookie_secure": True})
    page = mini_site.client().get("/login")
    assert "Secure" in page.headers["set-cookie"]


def test_wrong_password_is_refused_and_audited(mini_site: Site) -> None:
    c = mini_site.client()
    r = login(c, "nurse.a", "not the password")
    assert r.status_code == 401
    assert "Wrong username or password" in r.text
    events = repository.search_audit(mini_site.store, AuditQuery(action="login-failed"))
    assert [(e.username, e.address) for e in events] == [("nurse.a", "10.0.0.1")]


def test_account_locks_after_n_failures_then_unlocks(mini_site: Site) -> None:
    c = mini_site.client()
    for _ in range(3):
        assert login(c, "nurse.a", "wrong password").status_code == 401
    r = login(c, "nurse.a", PASSWORD)  # right password, but locked
    assert r.status_code == 429 and "locked" in r.text
    assert int(r.headers["retry-after"]) > 0
    # another address still can: failures from one address do not lock everyone out
    # (tests/web/test_web_lockout.py)
    assert login(mini_site.client("10.9.9.9"), "nurse.a", PASSWORD).status_code == 303
    mini_site.clock.advance(minutes=16)
    assert login(c, "nurse.a", PASSWORD).status_code == 303


def test_address_is_blocked_after_failures_on_many_accounts(mini_site: Site) -> None:
    c = mini_site.client("10.6.6.6")
    for i in range(6):
        login(c, f"nobody{i}", "guess guess")
    assert login(c, "admin.a", PASSWORD).status_code == 429
    assert login(mini_site.client("10.0.0.2"), "admin.a", PASSWORD).status_code == 303


def test_login_form_without_csrf_is_refused(mini_site: Site) -> None:
    c = mini_site.client()
    c.get("/login")
    r = c.post("/login", data={"username": "admin.a", "password": PASSWORD})
    assert r.status_code == 403
    r = c.post("/login", data={"username": "admin.a", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_post_without_csrf_is_refused(mini_site: Site) -> None:
    c = mini_site.login("admin.a")
    assert c.post("/logout").status_code == 403
    assert c.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert c.get("/admin/users").status_code == 200  # still logged in


def test_idle_session_ends(mini_site: Site) -> None:
    c = mini_site.login("admin.a")
    mini_site.clock.advance(minutes=29)
    assert c.get("/admin/users").status_code == 200
    mini_site.clock.advance(minutes=29)  # active 29 min ago: still alive
    assert c.get("/admin/users").status_code == 200
    mini_site.clock.advance(minutes=31)
    assert c.get("/admin/users").status_code == 303


def test_forged_cookie_is_not_a_session(mini_site: Site) -> None:
    c = mini_site.client()
    c.cookies.set("standby_session", "abc.def")
    assert c.get("/admin/users").status_code == 303


def test_open_redirect_is_not_followed(mini_site: Site) -> None:
    c = mini_site.client()
    page = c.get("/login")
    r = c.post(
        "/login",
        data={
            "username": "admin.a",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("nurse.a", "/admin/audit", 403),
        ("nurse.a", "/admin/audit.csv", 403),
        ("nurse.a", "/admin/users", 403),
        ("sched.a", "/admin/break-glass", 403),
        ("admin.a", "/admin/audit", 200),
        ("admin.a", "/admin/break-glass", 200),
    ],
)
def test_admin_pages_by_role(mini_site: Site, user: str, path: str, status: int) -> None:
    assert mini_site.login(user).get(path).status_code == status


def test_audit_csv_export(mini_site: Site) -> None:
    login(mini_site.client(), "nurse.a", "bad password")
    c = mini_site.login("admin.a")
    r = c.get("/admin/audit.csv?action=login-failed")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0] == (
        "id,at,username,role,action,patient_mrn,patient_name,patient_id,page,address,detail"
    )
    assert len(lines) == 2 and ",nurse.a,,login-failed,," in lines[1]
    exported = repository.search_audit(mini_site.store, AuditQuery(action="export"))
    assert exported and exported[0].username == "admin.a"


def test_audit_log_refuses_update_and_delete(mini_site: Site) -> None:
    login(mini_site.client(), "nurse.a", "bad password")
    with (
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
        mini_site.store.transaction() as tx,
    ):
        tx.execute("UPDATE web_audit SET username = 'someone else'")
    with (
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
        mini_site.store.transaction() as tx,
    ):
        tx.execute("DELETE FROM web_audit")
    assert not [
        n for n in dir(repository) if "audit" in n and n.startswith(("delete", "update", "edit"))
    ]
