"""When a login may be tried: failed logins counted per account and address, per account
and per address, each with a wait that doubles rather than a hard lock
(docs/web.md#login-and-lockout). Pure: the counts come from `repository.reserve_login`,
which takes them and records the attempt in one transaction.

Why three counts. An attacker guessing one account from one address is slowed down
first (`max_failures`, per account *and* address): the clinician at her own
workstation is not. Many addresses guessing one account slow the account down
(`account_max_failures`, higher), except from addresses the account has logged in
from before, so that a spray across the network cannot keep a clinician out during a
downtime. One address guessing many accounts is slowed down too
(`address_max_failures`). Each limit, once reached, asks for a wait of `backoff`, doubled
with every further failure, at most `lockout`; failures older than `lockout` no longer
count.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby.clock import parse_instant


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # per account and address
    address_max_failures: int = 20
    lockout: timedelta = timedelta(minutes=15)
    account_max_failures: int = 50
    backoff: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Count:
    """Failed logins within the window, and the time of the latest (None: none)."""

    failures: int
    latest: str | None


@dataclass(frozen=True)
class Counts:
    pair: Count  # this account from this address
    account: Count  # this account from every address
    address: Count  # every account from this address
    known_address: bool  # the account has logged in from this address before


ACCOUNT_LOCKED = "account locked"
ADDRESS_BLOCKED = "address blocked"


def _wait(count: Count, limit: int, now: datetime, policy: LoginPolicy) -> int:
    if count.failures < limit or count.latest is None:
        return 0
    doublings = min(count.failures - limit, 20)
    delay = min(policy.lockout, policy.backoff * (2**doublings))
    left = (parse_instant(count.latest) + delay - now).total_seconds()
    return max(0, int(left + 0.999))


def wait(counts: Counts, now: datetime, policy: LoginPolicy) -> tuple[int, str]:
    """(seconds to wait before this login may be tried, why); (0, "") when it may."""
    waits = [
        (_wait(counts.address, policy.address_max_failures, now, policy), ADDRESS_BLOCKED),
        (_wait(counts.pair, policy.max_failures, now, policy), ACCOUNT_LOCKED),
    ]
    if not counts.known_address:
        waits.append(
            (_wait(counts.account, policy.account_max_failures, now, policy), ACCOUNT_LOCKED)
        )
    seconds, why = max(waits)
    return (seconds, why) if seconds > 0 else (0, "")


class RefusalLog:
    """Refused logins are counted and written once per `interval` for each (address,
    reason): a blocked address hammering the login form costs one audit line a minute,
    not one per attempt. Returns, for each refusal, the detail of the line to write now
    (or None: only counted). Counts not yet written are in memory (at most `max_keys`
    keys; the oldest go first)."""

    def __init__(self, interval: timedelta, max_keys: int = 10_000) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._open: dict[tuple[str, str], tuple[datetime, int]] = {}
        self._lock = threading.Lock()

    def refused(self, address: str, reason: str, now: datetime) -> str | None:
        with self._lock:
            return self._refused((address, reason), reason, now)

    def _refused(self, key: tuple[str, str], reason: str, now: datetime) -> str | None:
        opened = self._open.get(key)
        if opened is not None and now - opened[0] < self.interval:
            self._open[key] = (opened[0], opened[1] + 1)
            return None
        if len(self._open) >= self.max_keys:
            del self._open[next(iter(self._open))]
        self._open.pop(key, None)
        self._open[key] = (now, 0)
        if opened is None or opened[1] == 0:
            return reason
        return f"{reason}; {opened[1]} more refused since the last line"
