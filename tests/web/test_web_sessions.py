"""Sessions: ids stored hashed, an absolute lifetime, expired sessions purged."""

from __future__ import annotations

from standby.accounts import repository
from support.web_site import Site


def _stored_ids(site: Site) -> list[str]:
    with site.store.read_transaction() as tx:
        return [str(r[0]) for r in tx.query("SELECT id FROM web_sessions")]


def test_a_copy_of_the_database_yields_no_usable_session(mini_site: Site) -> None:
    c = mini_site.login("admin.a")
    assert c.get("/admin/users").status_code == 200
    (stored,) = _stored_ids(mini_site)
    forged = mini_site.client()
    forged.cookies.set("standby_session", mini_site.app.state.web.sessions.sign(stored))
    assert forged.get("/admin/users").status_code == 303


def test_a_session_ends_after_its_absolute_lifetime_however_active(mini_site: Site) -> None:
    c = mini_site.login("admin.a")
    hours = mini_site.settings.session_absolute_hours
    for _ in range(int(hours * 4)):
        mini_site.clock.advance(minutes=15)
        assert c.get("/admin/users").status_code == 200
    mini_site.clock.advance(minutes=16)
    assert c.get("/admin/users").status_code == 303


def test_expired_sessions_are_purged(mini_site: Site) -> None:
    for _ in range(3):
        mini_site.login("nurse.a")
    assert len(_stored_ids(mini_site)) == 3
    mini_site.clock.advance(hours=mini_site.settings.session_absolute_hours + 1)
    mini_site.login("admin.a")  # a login purges what has expired
    assert len(_stored_ids(mini_site)) == 1
    assert repository.get_user(mini_site.store, "admin.a") is not None
