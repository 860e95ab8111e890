"""Local accounts: argon2 password hashes, the password policy, login with lockout per
account and per address.

Accounts are local on purpose: the hospital's directory may be down with the EHR. When a
login may be tried is decided by `lockout` (per account and address, per account, per
address, each with a doubling wait; docs/web.md#login-and-lockout). Every attempt is
audited; refusals once per interval.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from standby import clock
from standby.accounts import lockout, schema
from standby.accounts import repository as repo
from standby.accounts.lockout import LoginPolicy, RefusalLog
from standby.accounts.records import AuditEvent, User
from standby.accounts.roles import check_role
from standby.clock import instant
from standby.store.base import Store

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("standby: not a password")

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable" (about 10^8 guesses or more)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _letters(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def check_password(username: str, password: str, *, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """ValueError (saying why, starting "password") unless the password is long enough,
    not common, and not made of the username. Strength is zxcvbn's estimate (Dropbox's
    well-kept estimator: dictionaries of common passwords, names and words, keyboard
    patterns, repeats, dates), given the username as a word to avoid."""
    if len(password) < min_length:
        raise ValueError(f"password is shorter than {min_length} characters")
    if len(password) > 1000:
        raise ValueError("password is longer than 1000 characters")
    plain = _letters(password)
    parts = {_letters(username), *(_letters(p) for p in re.split(r"[._@-]", username))}
    if any(len(p) >= 3 and p in plain for p in parts):
        raise ValueError("password must not contain the username")
    # zxcvbn's work grows with the length; its first 100 characters decide
    verdict = zxcvbn(password[:100], user_inputs=[username, *re.split(r"[._@-]", username)])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        feedback = verdict["feedback"]
        why = feedback.get("warning") or "it is too easy to guess"
        hint = " ".join(feedback.get("suggestions") or [])
        raise ValueError(
            f"password refused: {why.rstrip('.')} (too common or easy to guess). {hint}".strip()
        )


def add_user(
    store: Store,
    username: str,
    password: str,
    *,
    role: str,
    units: list[str] | tuple[str, ...],
    display_name: str | None = None,
    now: datetime | None = None,
    min_length: int = MIN_PASSWORD_LENGTH,
) -> User:
    """Create (or replace) an account. ValueError names what is wrong. Replacing the
    password of an account (a reset) unlocks it and ends its sessions."""
    username = username.strip()
    if not username or any(c.isspace() for c in username) or "," in username:
        raise ValueError(f"invalid username {username!r}: no spaces or commas")
    if len(username) > 100:
        raise ValueError("invalid username: longer than 100 characters")
    check_role(role)
    check_password(username, password, min_length=min_length)
    clean_units = tuple(u.strip() for u in units if u.strip())
    if any("," in u for u in clean_units):
        raise ValueError("a unit id cannot contain a comma")
    schema.ensure(store)
    existing = repo.get_user(store, username)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        units=clean_units,
        display_name=(display_name or username).strip(),
        active=True,
        created_at=existing.created_at if existing else instant(now or clock.now()),
    )
    repo.save_user(store, user)
    if existing is not None:  # a reset: the account is unlocked and its sessions end
        repo.clear_failures(store, username)
        repo.end_sessions_of(store, username)
    return user


class LoginOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad-credentials"
    ACCOUNT_LOCKED = "account-locked"
    ADDRESS_BLOCKED = "address-blocked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    retry_after_seconds: int = 0


def authenticate(
    store: Store,
    username: str,
    password: str,
    address: str,
    now: datetime,
    policy: LoginPolicy,
    refusals: RefusalLog | None = None,
) -> LoginResult:
    """Check a login; count failures and write the audit line (refusals through
    `refusals`, once per interval, when given). Constant work for unknown users. The
    attempt is counted before the password is checked (`repository.reserve_login`), so
    concurrent guesses get no more checks than the limits allow."""
    schema.ensure(store)
    username = username.strip()
    at = instant(now)
    wait, why = repo.reserve_login(
        store,
        username,
        address,
        at,
        instant(now - policy.lockout),
        lambda counts: lockout.wait(counts, now, policy),
    )
    if wait:
        detail = refusals.refused(address, why, now) if refusals is not None else why
        if detail is not None:
            _audit(store, at, username, "login-refused", address, detail)
        outcome = (
            LoginOutcome.ADDRESS_BLOCKED
            if why == lockout.ADDRESS_BLOCKED
            else LoginOutcome.ACCOUNT_LOCKED
        )
        return LoginResult(outcome, retry_after_seconds=wait)
    user = repo.get_user(store, username) if username else None
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if not (ok and user and user.active):
        _audit(store, at, username, "login-failed", address, "")
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    repo.login_succeeded(store, username, address, at, before=instant(now - policy.lockout))
    repo.append_audit(
        store, AuditEvent(at, username, user.role, "login", None, "/login", address, "")
    )
    return LoginResult(LoginOutcome.OK, user)


def _audit(store: Store, at: str, username: str, action: str, address: str, detail: str) -> None:
    repo.append_audit(
        store, AuditEvent(at, username or "(blank)", "", action, None, "/login", address, detail)
    )


# Demo accounts (`standby demo` only: synthetic data, well-known passwords).
DEMO_PASSWORD = "standby-demo"
DEMO_USERS = [
    ("nurse", "nurse", "first-unit", "Demo Nurse"),
    ("physician", "physician", "first-unit", "Demo Physician"),
    ("pharmacist", "pharmacist", "*", "Demo Pharmacist"),
    ("scheduler", "scheduler", "", "Demo Scheduler"),
    ("commander", "incident-commander", "*", "Demo Incident Commander"),
    ("registrar", "registrar", "*", "Demo Registrar"),
    ("admin", "admin", "", "Demo Admin"),
    ("clerk", "clerk", "first-unit", "Demo Clerk"),
    ("him", "health-information", "*", "Demo Health Information"),
]


def add_demo_users(store: Store, first_unit: str) -> list[tuple[str, str, str]]:
    """Create the demo accounts (password `DEMO_PASSWORD`); the nurse and the physician
    work on `first_unit`. Returns (username, password, role) to print."""
    out = []
    for username, role, unit, name in DEMO_USERS:
        units = [first_unit] if unit == "first-unit" else ([unit] if unit else [])
        add_user(store, username, DEMO_PASSWORD, role=role, units=units, display_name=name)
        out.append((username, DEMO_PASSWORD, role))
    return out
