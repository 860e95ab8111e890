"""Passwords are checked in a bounded pool of their own: a login storm cannot take the
threads that serve pages."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from standby.accounts import users
from standby.web.app import create_app
from support.web_server import served
from support.web_site import PASSWORD, Site, csrf_of


class GatedHasher(PasswordHasher):
    """argon2 whose verifications wait for the test to open the gate."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.gate = threading.Event()
        self.entered = 0
        self.lock = threading.Lock()

    def verify(self, hash: Any, password: Any) -> bool:
        with self.lock:
            self.entered += 1
        self.gate.wait(120)
        return super().verify(hash, password)


def _login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    page = c.get("/login")
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


def test_pages_answer_while_every_login_thread_is_busy(
    mini_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = GatedHasher()
    hasher.gate.set()
    monkeypatch.setattr(users, "_hasher", hasher)
    users.add_user(mini_site.store, "storm.a", PASSWORD, role="nurse", units=["4W"])
    settings = mini_site.settings.model_copy(update={"web_threads": 2, "login_threads": 2})
    app = create_app(settings, mini_site.store, clock=mini_site.clock)
    storm = settings.web_threads + settings.login_threads + 2
    with served(settings, app) as url:
        nurse = httpx.Client(base_url=url, timeout=120)
        assert _login(nurse, "nurse.a", PASSWORD).status_code == 303
        hasher.gate.clear()
        hasher.entered = 0
        done: list[int] = []

        def log_in() -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                done.append(_login(c, "storm.a", "a wrong guess").status_code)

        logins = [threading.Thread(target=log_in) for _ in range(storm)]
        for t in logins:
            t.start()
        for _ in range(6000):  # until the password threads are all taken
            if hasher.entered >= settings.login_threads:
                break
            time.sleep(0.01)
        answered: list[int] = []
        page = threading.Thread(target=lambda: answered.append(nurse.get("/search").status_code))
        page.start()
        page.join(60)
        still_waiting = page.is_alive()
        entered = hasher.entered
        hasher.gate.set()
        page.join()
        for t in logins:
            t.join()
        nurse.close()
    assert not still_waiting, "a page waited behind the logins"
    assert answered == [200]
    assert entered <= settings.login_threads, "more passwords checked at once than the pool"
    assert len(done) == storm
