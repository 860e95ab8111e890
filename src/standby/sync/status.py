"""Sync state and health: what `standby status`, the web header and the packets show.

Per source: the last successful sync ("data as of"), the lag, resources by type, errors and
quarantined items in the last hour, and whether the source answered. The sync writes its
state here (`round_started`, `round_finished`, `record_error`, and `ContactRecorder` for
each request it makes); readers call `sync_health(store)` (the web header, whose signature
is stable) or `source_status(store)` (the `status` command).

"Data as of" is the *start* of the last round that completed without an error: every change
the source made before that moment is in the replica. `data_as_of(store)` is the one place
that decides what every page, packet and command says: that instant (the oldest of all
sources), or, while the sync has none to give (never synchronised, or a source has not yet
finished a clean round), the newest `meta.lastUpdated` the replica holds (a replica loaded
from NDJSON files); None for an empty replica.

Whether the source answers is what the sync last *observed*: the outcome of its last
request and when (`last_contact_at`), not the end of a round, which may retry for minutes
after the source went away or came back. The web header and `standby status` set it beside
the monitor's last probe round and say whichever is newer (docs/monitor.md#reachability).

The last round is `running`, `ok`, `failed` (it ended with an error, or its results could
not be trusted) or `interrupted`: it started and never finished, and the process that ran
it is gone (`round_started` keeps its host and pid; on another host, no request for
`INTERRUPTED_AFTER_S`). The next round records the interruption as an error.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.clock import instant, parse_instant
from standby.clock import now as clock_now
from standby.fhir.display import parse_instant as parse_fhir_instant
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store.base import Store
from standby.sync.checkpoints import Streams
from standby.sync.schema import ensure_sync_schema

#: A round of another host with no request for this long is taken as interrupted.
INTERRUPTED_AFTER_S = 600.0


@dataclass(frozen=True)
class SyncHealth:
    """What the web header shows about the sync (all sources together: the worst of them)."""

    data_as_of: datetime | None
    lag_seconds: float | None
    reachable: bool | None  # did every source answer the sync's last request to it
    errors_last_hour: int
    quarantined_last_hour: int
    last_contact_at: datetime | None = None  # when `reachable` was observed


@dataclass
class SourceStatus:
    """One source, as `standby status` shows it."""

    source: str
    url: str
    data_as_of: str | None
    lag_seconds: float | None
    reachable: bool | None
    last_round_started: str | None
    last_round_finished: str | None
    last_error: str | None
    errors_last_hour: int
    census_patients: int
    recent_errors: list[dict[str, str]] = field(default_factory=list)
    last_contact_at: str | None = None  # when `reachable` was observed (the last request)
    last_round: str | None = None  # running | ok | failed | interrupted (None: no round)
    plan: str | None = None  # the seed method and why (plan.py)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# ---- writing ------------------------------------------------------------------------------
def round_started(store: Store, source: str, url: str, at: datetime) -> None:
    """A round (or the seed) starts now in this process. A round before it that never
    finished was interrupted: that is recorded as an error."""
    ensure_sync_schema(store)
    rows = [r for r in _rows(store) if r[0] == source]
    if rows:
        started, finished = rows[0][4], rows[0][5]
        if started is not None and (finished is None or finished < started):
            record_error(
                store,
                source,
                "round",
                f"the round started at {started} was interrupted (its process ended first)",
            )
            with store.transaction() as tx:
                tx.execute(
                    "UPDATE sync_source SET last_round_finished = ?, last_error = ?"
                    " WHERE source = ?",
                    (started, "interrupted", source),
                )
    store.set_checkpoint(Streams(source).round_owner, f"{socket.gethostname()} {os.getpid()}")
    with store.transaction() as tx:
        n = tx.execute(
            "UPDATE sync_source SET url = ?, last_round_started = ? WHERE source = ?",
            (url, instant(at), source),
        )
        if n == 0:
            tx.execute(
                "INSERT INTO sync_source (source, url, last_round_started) VALUES (?, ?, ?)",
                (source, url, instant(at)),
            )


def round_finished(
    store: Store,
    source: str,
    *,
    started: datetime,
    finished: datetime,
    ok: bool,
    reachable: bool,
    error: str | None = None,
) -> None:
    """Record the end of a round; an `ok` round moves "data as of" to its start. `reachable`
    stands as the last contact only when no request of the round recorded one (a token
    endpoint that did not answer, a client without a `ContactRecorder`)."""
    ensure_sync_schema(store)
    with store.transaction() as tx:
        tx.execute(
            "UPDATE sync_source SET last_contact_at = ?, last_contact_ok = ?"
            " WHERE source = ? AND (last_contact_at IS NULL OR last_contact_at < ?)",
            (instant(finished), int(reachable), source, instant(started)),
        )
        if ok:
            tx.execute(
                "UPDATE sync_source SET last_round_finished = ?, last_success_started = ?,"
                " last_success_finished = ?, reachable = ?, last_error = NULL WHERE source = ?",
                (instant(finished), instant(started), instant(finished), int(reachable), source),
            )
        else:
            tx.execute(
                "UPDATE sync_source SET last_round_finished = ?, reachable = ?, last_error = ?"
                " WHERE source = ?",
                (instant(finished), int(reachable), (error or "")[:500], source),
            )


def record_plan(store: Store, source: str, summary: str) -> None:
    """The seed method of the plan and why (`standby status` shows it)."""
    ensure_sync_schema(store)
    store.set_checkpoint(Streams(source).plan, summary[:500])


def record_contact(store: Store, source: str, url: str, *, answered: bool, at: datetime) -> None:
    """The source answered a request at `at` (any answer that is not an outage), or did not
    (a connection error, a timeout, a 5xx)."""
    ensure_sync_schema(store)
    with store.transaction() as tx:
        n = tx.execute(
            "UPDATE sync_source SET last_contact_at = ?, last_contact_ok = ? WHERE source = ?",
            (instant(at), int(answered), source),
        )
        if n == 0:
            tx.execute(
                "INSERT INTO sync_source (source, url, last_contact_at, last_contact_ok)"
                " VALUES (?, ?, ?, ?)",
                (source, url, instant(at), int(answered)),
            )


class ContactRecorder:
    """The sync's HTTP client calls it after every attempt of every request
    (`FhirClient.on_contact`). A change (answered ↔ not) is written at once; the same
    outcome again at most every `every_s` seconds, so that a busy round does not write a
    row per request while the time of the last contact stays within a few seconds."""

    def __init__(
        self,
        store: Store,
        source: str,
        url: str,
        *,
        every_s: float = 2.0,
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.store, self.source, self.url = store, source, url
        self.every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[bool, float] | None = None

    def __call__(self, answered: bool) -> None:
        mono = time.monotonic()
        with self._lock:
            last = self._last
            if last is not None and last[0] == answered and mono - last[1] < self.every_s:
                return
            self._last = (answered, mono)
        try:
            record_contact(self.store, self.source, self.url, answered=answered, at=self._clock())
        except Exception:  # never fail a request because its outcome could not be noted
            with self._lock:
                self._last = None


def record_error(store: Store, source: str, kind: str, message: str) -> None:
    """An error worth showing an operator (no patient data in `message`)."""
    ensure_sync_schema(store)
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO sync_event (at, source, kind, message) VALUES (?, ?, ?, ?)",
            (instant(clock_now()), source, kind, message[:1000]),
        )


# ---- reading ------------------------------------------------------------------------------
def _rows(store: Store) -> list[tuple[Any, ...]]:
    ensure_sync_schema(store)
    with store.read_transaction() as tx:
        return tx.query(
            "SELECT source, url, last_success_started, reachable, last_round_started,"
            " last_round_finished, last_error, last_contact_at, last_contact_ok,"
            " last_success_finished FROM sync_source ORDER BY source"
        )


def _errors_since(store: Store, since: str, source: str | None = None) -> int:
    with store.read_transaction() as tx:
        if source is None:
            rows = tx.query("SELECT COUNT(*) FROM sync_event WHERE at >= ?", (since,))
        else:
            rows = tx.query(
                "SELECT COUNT(*) FROM sync_event WHERE source = ? AND at >= ?", (source, since)
            )
    return int(rows[0][0]) if rows else 0


def _quarantined_since(store: Store, since: str) -> int:
    return store.count_quarantined(since=since)


def sync_health(store: Store, now: datetime | None = None) -> SyncHealth:
    """The sync's health for the web header: "data as of" (`data_as_of`), the lag of the
    sync (None when it has not finished a clean round of every source), whether every
    source answered the sync's last request to it (and when that was observed), and
    errors / quarantined items in the last hour."""
    now = now or clock_now()
    since = instant(now - timedelta(hours=1))
    rows = _rows(store)
    synced = _synced_as_of(rows)
    reachable, contact_at = _reachable(rows)
    lag = None if synced is None else max(0.0, (now - synced).total_seconds())
    return SyncHealth(
        data_as_of=synced if synced is not None else newest_last_updated(store),
        lag_seconds=lag,
        reachable=reachable,
        errors_last_hour=_errors_since(store, since),
        quarantined_last_hour=_quarantined_since(store, since),
        last_contact_at=contact_at,
    )


def _contact(row: tuple[Any, ...]) -> tuple[bool | None, datetime | None]:
    """One source: did it answer the last request (None: never asked), and when."""
    if row[8] is not None:
        return bool(row[8]), parse_instant(row[7])
    if row[3] is not None:  # a replica written before contacts were recorded
        return bool(row[3]), parse_instant(row[5])
    return None, None


def _reachable(rows: list[tuple[Any, ...]]) -> tuple[bool | None, datetime | None]:
    """All sources together: answered only if every source answered (as of the newest of
    their contacts); not answered as of the newest contact that failed."""
    seen = [c for c in (_contact(r) for r in rows) if c[0] is not None]
    if not seen:
        return None, None
    failed = [at for ok, at in seen if not ok and at is not None]
    if len(failed) < len([1 for ok, _ in seen if not ok]):
        return False, None
    if failed:
        return False, max(failed)
    times = [at for _, at in seen if at is not None]
    return True, (max(times) if len(times) == len(seen) else None)


def data_as_of(store: Store) -> datetime | None:
    """What the header, the packets, the CLI and the monitor's packets say the data is "as
    of": the start of the last clean round (the oldest of all sources); while the sync has
    none, the newest `meta.lastUpdated` in the replica; None for an empty replica."""
    synced = _synced_as_of(_rows(store))
    return synced if synced is not None else newest_last_updated(store)


def _synced_as_of(rows: list[tuple[Any, ...]]) -> datetime | None:
    """The oldest "data as of" of all sources; None unless every source has one."""
    times = [parse_instant(r[2]) for r in rows]
    known = [t for t in times if t is not None]
    return min(known) if known and len(known) == len(times) else None


# the newest lastUpdated per store object, kept while the store's last change is the same
_newest: weakref.WeakKeyDictionary[Store, tuple[int, datetime | None]] = weakref.WeakKeyDictionary()
_newest_lock = threading.Lock()


def newest_last_updated(store: Store) -> datetime | None:
    """The newest `meta.lastUpdated` the replica holds (None when empty): each R4 resource
    type's search sorted by `-_lastUpdated`, for one resource (indexed: tens of ms in all,
    where counting the types held would scan the replica). Remembered per store until the
    store's newest change (`Store.last_seq`) moves, so that a page header asking every
    second costs one indexed probe."""
    seq = store.last_seq()
    if seq is not None:
        with _newest_lock, contextlib.suppress(TypeError):  # a store that cannot be weakly held
            held = _newest.get(store)
            if held is not None and held[0] == seq:
                return held[1]
    newest: datetime | None = None
    for rt in sorted(RESOURCE_TYPES):
        try:
            page = store.search(rt, [], sort=["-_lastUpdated"], count=1)
        except ValueError:
            continue
        for sr in page.resources:
            t = parse_fhir_instant(sr.last_updated)
            if t is not None and (newest is None or t > newest):
                newest = t
    if seq is not None:
        with _newest_lock, contextlib.suppress(TypeError):
            _newest[store] = (seq, newest)
    return newest


def _alive(owner: str | None) -> bool | None:
    """Whether the process `host pid` still runs (None: on another host, or unknown)."""
    if not owner:
        return None
    host, _, pid = owner.rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_round_state(
    store: Store, row: tuple[Any, ...], now: datetime
) -> tuple[str | None, str | None]:
    """(running | ok | failed | interrupted, the finish time to show) of a source's last
    round; a round marked interrupted by the next one shows no finish."""
    source, started, finished, last_error, contact_at, success_finished = (
        row[0],
        row[4],
        row[5],
        row[6],
        row[7],
        row[9],
    )
    if started is None:
        return None, finished
    if finished is None or finished < started:
        alive = _alive(store.get_checkpoint(Streams(source).round_owner))
        if alive is None:
            seen = parse_instant(contact_at) or parse_instant(started)
            quiet = seen is not None and (now - seen).total_seconds() > INTERRUPTED_AFTER_S
            return ("interrupted" if quiet else "running"), finished
        return ("running" if alive else "interrupted"), finished
    if last_error == "interrupted" and finished == started:
        return "interrupted", None
    if success_finished is not None and success_finished == finished:
        return "ok", finished
    return "failed", finished


def source_status(store: Store, now: datetime | None = None) -> list[SourceStatus]:
    """Every source's status, for `standby status`."""
    now = now or clock_now()
    since = instant(now - timedelta(hours=1))
    out: list[SourceStatus] = []
    for row in _rows(store):
        source, url, success, _, started, finished, last_error = row[:7]
        reachable, contact_at = _contact(row)
        state, finished = last_round_state(store, row, now)
        as_of = parse_instant(success)
        with store.read_transaction() as tx:
            census = tx.query("SELECT COUNT(*) FROM sync_census WHERE source = ?", (source,))
            recent = tx.query(
                "SELECT at, kind, message FROM sync_event WHERE source = ? AND at >= ?"
                " ORDER BY id DESC LIMIT 5",
                (source, since),
            )
        out.append(
            SourceStatus(
                source=source,
                url=url,
                data_as_of=success,
                lag_seconds=None if as_of is None else max(0.0, (now - as_of).total_seconds()),
                reachable=reachable,
                last_round_started=started,
                last_round_finished=finished,
                last_error=last_error,
                errors_last_hour=_errors_since(store, since, source),
                census_patients=int(census[0][0]) if census else 0,
                recent_errors=[{"at": a, "kind": k, "message": m} for a, k, m in recent],
                last_contact_at=None if contact_at is None else instant(contact_at),
                last_round=state,
                plan=store.get_checkpoint(Streams(source).plan) or None,
            )
        )
    return out
