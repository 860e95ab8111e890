"""Sessions: a signed cookie holds a random id; the session row (user, CSRF token, last
request) lives server-side in `web_sessions`, under the SHA-256 of the id, so that a copy
of the database yields no id a cookie could carry. Idle sessions end after
`session_idle_minutes`, every session `session_absolute_hours` after its login; logout
deletes the row, and each login purges the rows that have expired (docs/web.md#sessions).

Cookie flags: HttpOnly, SameSite=Lax, Path=/, and Secure when the request came over https
or `cookie_secure` says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer

from standby.accounts import repository as repo
from standby.accounts.records import Session, User
from standby.clock import instant, parse_instant
from standby.store.base import ReadOnlyStore, Store

COOKIE = "standby_session"
LOGIN_CSRF_COOKIE = "standby_login_csrf"
TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often


@dataclass(frozen=True)
class Authenticated:
    session: Session
    user: User


def stored_id(session_id: str) -> str:
    """What the database holds of a session id (its SHA-256: the id has 256 random bits,
    so no salt or slow hash is needed)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionManager:
    def __init__(
        self,
        store: Store,
        secret: str,
        idle: timedelta,
        absolute: timedelta = timedelta(hours=12),
    ) -> None:
        self.store = store
        self.signer = Signer(secret, salt="standby.session")
        self.idle = idle
        self.absolute = absolute

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
        """A new session for `user`; returns it (as stored: its id hashed) and the cookie
        value. Sessions that have expired are purged first."""
        at = instant(now)
        repo.delete_expired_sessions(
            self.store,
            last_seen_before=instant(now - self.idle),
            created_before=instant(now - self.absolute),
        )
        session_id = secrets.token_urlsafe(32)
        session = Session(
            stored_id(session_id), user.username, secrets.token_urlsafe(32), at, at, address
        )
        repo.create_session(self.store, session)
        return session, self.sign(session_id)

    def resume(self, cookie: str | None, now: datetime) -> Authenticated | None:
        """The live session named by the cookie, or None (absent, forged, idle, too old,
        user gone)."""
        unsigned = self.unsign(cookie)
        if unsigned is None:
            return None
        session_id = stored_id(unsigned)
        found = repo.get_session_and_user(self.store, session_id)
        if found is None:
            return None
        session, user = found
        last = parse_instant(session.last_seen)
        if now - last > self.idle or now - parse_instant(session.created_at) > self.absolute:
            self._delete(session_id)
            return None
        if user is None or not user.active:
            self._delete(session_id)
            return None
        if now - last >= TOUCH_EVERY:
            # on a standby not yet promoted the session goes on reading, untouched
            with contextlib.suppress(ReadOnlyStore):
                repo.touch_session(self.store, session_id, instant(now))
        return Authenticated(session, user)

    def _delete(self, session_id: str) -> None:
        """Delete a session that has ended (on a read-only standby it is refused anyway:
        the row goes at the next purge after promotion)."""
        with contextlib.suppress(ReadOnlyStore):
            repo.delete_session(self.store, session_id)

    def end(self, cookie: str | None) -> None:
        session_id = self.unsign(cookie)
        if session_id:
            repo.delete_session(self.store, stored_id(session_id))
