"""The viewer with its replica and its own tables in PostgreSQL: the page, permission,
audit and cache checks of test_web_pages, run against `pg_hospital` (a fresh copy of the
ingested hospital per test). Fails, not skips, when STANDBY_TEST_POSTGRES_URL is set and
the server is unreachable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
import test_web_lockout as lockout
import test_web_pages as pages
import test_web_security as security
import test_web_sessions as sessions

from support.web_site import Hospital, Site

pytestmark = pytest.mark.postgres

CHECKS: list[Callable[[Hospital], None]] = [
    pages.test_nurse_sees_every_bed_of_her_unit,
    pages.test_census_sorts_on_the_server,
    pages.test_summary_shows_two_identifiers_and_is_audited,
    pages.test_break_the_glass,
    pages.test_no_known_allergies_and_not_recorded_render_differently,
    pages.test_empty_sections_say_why,
    pages.test_search_by_partial_accentless_name,
    pages.test_or_board_and_clinics,
    pages.test_audit_table_is_append_only_in_the_replica,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_viewer_on_postgres(pg_hospital: Hospital, check: Callable[[Hospital], None]) -> None:
    check(pg_hospital)


SECURITY: list[Callable[[Site], None]] = [
    security.test_login_sets_a_safe_cookie_and_logout_ends_the_session,
    security.test_wrong_password_is_refused_and_audited,
    security.test_account_locks_after_n_failures_then_unlocks,
    security.test_address_is_blocked_after_failures_on_many_accounts,
    security.test_post_without_csrf_is_refused,
    security.test_idle_session_ends,
    security.test_audit_csv_export,
    lockout.test_failures_from_one_address_do_not_lock_the_account_elsewhere,
    lockout.test_the_wait_doubles_rather_than_a_hard_lock,
    lockout.test_many_addresses_slow_the_account_except_where_it_logged_in_before,
    lockout.test_a_password_reset_unlocks_and_ends_the_sessions,
    lockout.test_admin_page_unlocks_disables_and_enables,
    sessions.test_a_copy_of_the_database_yields_no_usable_session,
    sessions.test_expired_sessions_are_purged,
]


@pytest.mark.parametrize("check", SECURITY, ids=lambda f: f.__name__.removeprefix("test_"))
def test_accounts_on_postgres(pg_mini_site: Site, check: Callable[[Site], None]) -> None:
    check(pg_mini_site)


def test_concurrent_guesses_through_two_servers_on_postgres(
    pg_mini_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes (two stores, two connections) share the count: the row lock
    of the login check serialises them on PostgreSQL."""
    import threading

    from standby.accounts import users
    from standby.store import open_store
    from standby.web.app import create_app
    from support.web_site import PASSWORD, TestClient, csrf_of

    hasher = lockout.CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    users.add_user(pg_mini_site.store, "target.a", PASSWORD, role="nurse", units=["4W"])
    hasher.verified = 0
    other = open_store(database_url=pg_mini_site.settings.database_url)
    try:
        apps = [
            pg_mini_site.app,
            create_app(pg_mini_site.settings, other, clock=pg_mini_site.clock),
        ]
        clients = []
        for i in range(40):
            c = TestClient(apps[i % 2], client=("10.6.6.6", 50000), follow_redirects=False)
            clients.append((c, csrf_of(c.get("/login").text)))
        start = threading.Barrier(len(clients))

        def guess(c: Any, token: str) -> None:
            start.wait()
            c.post(
                "/login",
                data={"username": "target.a", "password": "a wrong guess", "csrf_token": token},
            )

        threads = [threading.Thread(target=guess, args=ct) for ct in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert 0 < hasher.verified <= pg_mini_site.settings.login_max_failures


def test_audit_log_refuses_update_delete_and_truncate_on_postgres(pg_mini_site: Site) -> None:
    import psycopg

    security.login(pg_mini_site.client(), "nurse.a", "bad password")
    for sql in (
        "UPDATE web_audit SET username = 'someone else'",
        "DELETE FROM web_audit",
        "TRUNCATE web_audit",
    ):
        with (
            pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            pg_mini_site.store.transaction() as tx,
        ):
            tx.execute(sql)
    assert len(security.repository.search_audit(pg_mini_site.store, security.AuditQuery())) == 1


def test_a_new_allergy_shows_on_the_next_view_on_postgres(pg_hospital: Hospital) -> None:
    """The summary cache follows PostgreSQL's change marks as it does SQLite's."""
    p = pages._a_patient(pg_hospital)
    c = pg_hospital.login("nurse")
    assert "Sesame seed allergy" not in c.get(f"/patients/{p.id}").text
    body: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": "pg-new-allergy",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"text": "Sesame seed allergy"},
        "patient": {"reference": f"Patient/{p.id}"},
    }
    pg_hospital.store.upsert(orjson.dumps(body))
    assert "Sesame seed allergy" in c.get(f"/patients/{p.id}").text
