"""All SQL of accounts: users, sessions, failed logins, audit, break-the-glass, the key
that signs session cookies.

The viewer's route handlers and the commands never write SQL; they call these functions.
Portable SQL with `?` placeholders inside `store.transaction()` /
`store.read_transaction()` (base.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from standby.accounts import audit_chain, schema
from standby.accounts.lockout import Count, Counts
from standby.accounts.records import AuditEvent, AuditQuery, BreakGlass, Session, User
from standby.store.base import Store

_USER_COLS = "username, password_hash, role, units, display_name, active, created_at"
_AUDIT_COLS = "id, at, username, role, action, patient_id, page, address, detail"


def _user(row: Sequence[Any]) -> User:
    units = tuple(u for u in str(row[3]).split(",") if u)
    return User(row[0], row[1], row[2], units, row[4], bool(row[5]), row[6])


# ---- the signing key --------------------------------------------------------------------
# It lives in a file (accounts/cookie_key.py); older versions kept it in `web_secret`,
# from where it is moved out once.
def stored_signing_secret(store: Store) -> str | None:
    """The cookie-signing key an older version stored in the database, if any."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query("SELECT secret FROM web_secret WHERE id = 1")
    return str(rows[0][0]) if rows else None


def forget_signing_secret(store: Store) -> None:
    """Delete the stored cookie-signing key (it now lives outside the database)."""
    schema.ensure(store)
    with store.transaction() as tx:
        tx.execute("DELETE FROM web_secret")


# ---- accounts ---------------------------------------------------------------------------
def save_user(store: Store, user: User) -> None:
    """Create the account, or replace its hash, role, units, name and state."""
    schema.ensure(store)
    with store.transaction() as tx:
        tx.execute(
            f"INSERT INTO web_users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,"
            " role = excluded.role, units = excluded.units,"
            " display_name = excluded.display_name, active = excluded.active",
            (
                user.username,
                user.password_hash,
                user.role,
                ",".join(user.units),
                user.display_name,
                1 if user.active else 0,
                user.created_at,
            ),
        )


def get_user(store: Store, username: str) -> User | None:
    with store.read_transaction() as tx:
        rows = tx.query(f"SELECT {_USER_COLS} FROM web_users WHERE username = ?", (username,))
    return _user(rows[0]) if rows else None


def list_users(store: Store) -> list[User]:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(f"SELECT {_USER_COLS} FROM web_users ORDER BY username")
    return [_user(r) for r in rows]


# ---- failed logins ----------------------------------------------------------------------
def reserve_login(
    store: Store,
    username: str,
    address: str,
    at: str,
    since: str,
    decide: Callable[[Counts], tuple[int, str]],
) -> tuple[int, str]:
    """Count the failed logins since `since`, ask `decide` whether this attempt may go on,
    and if so record it as a failure before the password is checked (`login_succeeded`
    takes it back): all in one write transaction, behind a row lock on PostgreSQL, so
    that concurrent guesses cannot all pass the check before any of them is counted."""
    with store.transaction() as tx:
        tx.execute("UPDATE web_login_guard SET id = id WHERE id = 1")  # serialises on PG

        def count(where: str, *params: str) -> Count:
            row = tx.query(
                f"SELECT COUNT(*), MAX(at) FROM web_login_failures WHERE {where} AND at >= ?",
                (*params, since),
            )[0]
            return Count(int(row[0]), row[1])

        known = tx.query(
            "SELECT 1 FROM web_login_known WHERE username = ? AND address = ?",
            (username, address),
        )
        counts = Counts(
            pair=count("username = ? AND address = ?", username, address),
            account=count("username = ?", username),
            address=count("address = ?", address),
            known_address=bool(known),
        )
        seconds, why = decide(counts)
        if seconds == 0:
            tx.execute(
                "INSERT INTO web_login_failures (username, address, at) VALUES (?, ?, ?)",
                (username, address, at),
            )
        return seconds, why


def login_succeeded(store: Store, username: str, address: str, at: str, *, before: str) -> None:
    """Forget the account's failures (its reserved attempt included) and every failure
    older than `before`; remember the address as one the account logs in from."""
    with store.transaction() as tx:
        tx.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))
        tx.execute("DELETE FROM web_login_failures WHERE at < ?", (before,))
        tx.execute(
            "INSERT INTO web_login_known (username, address, at) VALUES (?, ?, ?)"
            " ON CONFLICT (username, address) DO UPDATE SET at = excluded.at",
            (username, address, at),
        )


def clear_failures(store: Store, username: str) -> None:
    """Unlock an account: forget its failed logins from every address."""
    with store.transaction() as tx:
        tx.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))


def set_active(store: Store, username: str, active: bool) -> bool:
    """Enable or disable an account (a disabled one also loses its sessions); False when
    there is no such account."""
    with store.transaction() as tx:
        n = tx.execute(
            "UPDATE web_users SET active = ? WHERE username = ?", (1 if active else 0, username)
        )
        if not active:
            tx.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
    return n > 0


# ---- sessions ---------------------------------------------------------------------------
def create_session(store: Store, session: Session) -> None:
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO web_sessions (id, username, csrf, created_at, last_seen, address)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                session.id,
                session.username,
                session.csrf,
                session.created_at,
                session.last_seen,
                session.address,
            ),
        )


def get_session(store: Store, session_id: str) -> Session | None:
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT id, username, csrf, created_at, last_seen, address FROM web_sessions"
            " WHERE id = ?",
            (session_id,),
        )
    return Session(*rows[0]) if rows else None


def get_session_and_user(store: Store, session_id: str) -> tuple[Session, User | None] | None:
    """The session and its account in one read (every request does this)."""
    cols = ", ".join(f"u.{c.strip()}" for c in _USER_COLS.split(","))
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT s.id, s.username, s.csrf, s.created_at, s.last_seen, s.address, "
            f"{cols} FROM web_sessions s LEFT JOIN web_users u ON u.username = s.username"
            " WHERE s.id = ?",
            (session_id,),
        )
    if not rows:
        return None
    row = rows[0]
    return Session(*row[:6]), (_user(row[6:]) if row[6] is not None else None)


def touch_session(store: Store, session_id: str, at: str) -> None:
    with store.transaction() as tx:
        tx.execute("UPDATE web_sessions SET last_seen = ? WHERE id = ?", (at, session_id))


def delete_session(store: Store, session_id: str) -> None:
    with store.transaction() as tx:
        tx.execute("DELETE FROM web_sessions WHERE id = ?", (session_id,))


def delete_expired_sessions(store: Store, *, last_seen_before: str, created_before: str) -> int:
    """Purge the sessions idle since `last_seen_before` or begun before `created_before`."""
    with store.transaction() as tx:
        return tx.execute(
            "DELETE FROM web_sessions WHERE last_seen < ? OR created_at < ?",
            (last_seen_before, created_before),
        )


def end_sessions_of(store: Store, username: str) -> int:
    with store.transaction() as tx:
        return tx.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


# ---- audit (append-only: there is no update or delete function; every line is chained) --
def append_audit(store: Store, event: AuditEvent) -> None:
    append_audit_many(store, [event])


# Every action the audit log records, with what it means (the admin's filter offers each).
AUDIT_ACTIONS: dict[str, str] = {
    "view": "opened a patient's summary",
    "census": "saw a unit census (one line per patient on it)",
    "schedule": "saw the OR board or a clinic schedule (one line per patient on it)",
    "search": "searched for a patient",
    "print": "printed a patient or a unit",
    "document": "documented during a downtime (vitals, a dose, a note, a transfer)",
    "register": "registered a patient who arrived during a downtime",
    "transcribe": "keyed a paper downtime form (for the clinician who wrote it)",
    "strike": "struck out a downtime entry (with the reason)",
    "schedule-decision": "overrode the triage of a surgery or visit, or entered a room closed or"
    " a person away (OR desk)",
    "schedule-call": "recorded the outcome of a call to a patient whose surgery or visit moves",
    "break-glass": "broke the glass to open a patient outside their units",
    "export": "exported the audit log",
    "login": "logged in",
    "login-failed": "failed to log in (wrong password or unknown user)",
    "login-refused": "was refused a login (account locked or address blocked; counted, one"
    " line per address a minute)",
    "account": "unlocked, disabled or enabled an account (admin page)",
    "refused": "was refused a patient outside their units",
    "refusal-alert": "was refused many patients outside their units in a short time",
    "logout": "logged out",
    "registrations": "saw the list of patients registered during a downtime (one line per patient)",
    "match-view": "saw a downtime registration beside its EHR candidates",
    "match-decision": "decided (or changed) which EHR patient a downtime registration is,"
    " or that they are new",
    "gaps": "saw a unit's list of what to re-enter after a downtime (one line per patient)",
    "review": "opened back-entry's review queue or one of its entries",
    "review-decision": "re-sent after an edit, marked as entered by hand, or discarded an"
    " entry of the review queue",
    "reconciliation": "saw or downloaded the back-entry reconciliation report",
    "back-entry": "started back-entry from the reconciliation page, or was refused (why)",
    "fhir-read": "a system read patient data through the FHIR API (the client as the user; one"
    " line per patient in the answer)",
}


def _audit_where(q: AuditQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for col, value in (
        ("username", q.username),
        ("patient_id", q.patient_id),
        ("action", q.action),
    ):
        if value:
            clauses.append(f"{col} = ?")
            params.append(value)
    if q.patient_ids is not None:
        if not q.patient_ids:
            clauses.append("1 = 0")  # a patient was asked for and none matched
        else:
            clauses.append(f"patient_id IN ({', '.join('?' for _ in q.patient_ids)})")
            params.extend(q.patient_ids)
    if q.since:
        clauses.append("at >= ?")
        params.append(q.since)
    if q.until:
        clauses.append("at < ?")
        params.append(q.until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def search_audit(store: Store, q: AuditQuery) -> list[AuditEvent]:
    """Newest first, at most `q.limit`."""
    where, params = _audit_where(q)
    with store.read_transaction() as tx:
        rows = tx.query(
            f"SELECT {_AUDIT_COLS} FROM web_audit{where} ORDER BY id DESC LIMIT ?",
            (*params, q.limit),
        )
    return [AuditEvent(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[0])) for r in rows]


def iter_audit(store: Store, q: AuditQuery, *, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, in batches (for the CSV export)."""
    where, params = _audit_where(q)
    after = 0
    joiner = " AND " if where else " WHERE "
    while True:
        with store.read_transaction() as tx:
            rows = tx.query(
                f"SELECT {_AUDIT_COLS} FROM web_audit{where}{joiner}id > ? ORDER BY id LIMIT ?",
                (*params, after, batch),
            )
        for r in rows:
            yield AuditEvent(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[0]))
        if len(rows) < batch:
            return
        after = int(rows[-1][0])


# ---- break the glass --------------------------------------------------------------------
def add_break_glass(store: Store, bg: BreakGlass, audit: AuditEvent) -> None:
    """Record the access and its audit line in one transaction."""
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO web_break_glass (id, at, username, patient_id, reason, address,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (bg.id, bg.at, bg.username, bg.patient_id, bg.reason, bg.address, bg.expires_at),
        )
        audit_chain.append_in(tx, store.engine, [audit])


def has_break_glass(store: Store, username: str, patient_id: str, now: str) -> bool:
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT 1 FROM web_break_glass WHERE username = ? AND patient_id = ?"
            " AND expires_at > ? LIMIT 1",
            (username, patient_id, now),
        )
    return bool(rows)


def list_break_glass(store: Store, *, limit: int = 500) -> list[BreakGlass]:
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT id, at, username, patient_id, reason, address, expires_at"
            " FROM web_break_glass ORDER BY at DESC LIMIT ?",
            (limit,),
        )
    return [BreakGlass(*r) for r in rows]


def append_audit_many(store: Store, events: Sequence[AuditEvent]) -> None:
    """Several audit lines in one transaction (a census shows many patients at once)."""
    if not events:
        return
    with store.transaction() as tx:
        audit_chain.append_in(tx, store.engine, events)
