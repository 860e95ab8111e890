"""Sessions: a signed cookie holds a random id; the session row (user, CSRF token, last
request) lives server-side in `web_sessions`. Idle sessions end after
`session_idle_minutes`; logout deletes the row (docs/web.md#sessions).

Cookie flags: HttpOnly, SameSite=Lax, Path=/, and Secure when the request came over https
or `cookie_secure` says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer

from standby.accounts import repository as repo
from standby.accounts.records import Session, User
from standby.clock import instant, parse_instant
from standby.store.base import Store

COOKIE = "standby_session"
LOGIN_CSRF_COOKIE = "standby_login_csrf"
TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often


@dataclass(frozen=True)
class Authenticated:
    session: Session
    user: User


class SessionManager:
    def __init__(self, store: Store, secret: str, idle: timedelta) -> None:
        self.store = store
        self.signer = Signer(secret, salt="standby.session")
        self.idle = idle

    def sign(self, session_id: str) -> str:
        return self.signer.sign(session_id).decode()

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self.signer.unsign(cookie).decode()
        except BadSignature:
            return None

    def start(self, user: User, address: str, now: datetime) -> tuple[Session, str]:
        """A new session for `user`; returns it and the cookie value."""
        at = instant(now)
        session = Session(
            secrets.token_urlsafe(32), user.username, secrets.token_urlsafe(32), at, at, address
        )
        repo.create_session(self.store, session)
        return session, self.sign(session.id)

    def resume(self, cookie: str | None, now: datetime) -> Authenticated | None:
        """The live session named by the cookie, or None (absent, forged, idle, user gone)."""
        session_id = self.unsign(cookie)
        if session_id is None:
            return None
        found = repo.get_session_and_user(self.store, session_id)
        if found is None:
            return None
        session, user = found
        last = parse_instant(session.last_seen)
        if now - last > self.idle:
            repo.delete_session(self.store, session_id)
            return None
        if user is None or not user.active:
            repo.delete_session(self.store, session_id)
            return None
        if now - last >= TOUCH_EVERY:
            repo.touch_session(self.store, session_id, instant(now))
        return Authenticated(session, user)

    def end(self, cookie: str | None) -> None:
        session_id = self.unsign(cookie)
        if session_id:
            repo.delete_session(self.store, session_id)
