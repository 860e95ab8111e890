"""Retention: every table that grows with time is pruned to its window (docs/retention.md).

A node runs for months; what it keeps must not grow without end. The long-running processes
(`standby sync --watch`, the replica's writer, and `standby serve`) run `RetentionPass`
in a thread: at most once per `retention_interval_minutes` across all the processes of a
replica (the last pass's time is a store checkpoint), each rule deletes its old rows in
small batches so that no reader or writer waits long.

What each rule keeps, and why, is in docs/retention.md (the rules below are that table).

The audit (`web_audit`, its chain and break-glass records) is never pruned here: only
`standby audit archive` moves it out, by its own rule (docs/security.md). The journal, the
back-entry records, incidents and schedule decisions are the downtime's record: kept.

The versions back-entry needs (the Encounter version a clinician saw, recovery/facts.py)
are in `resource_history`: it is left whole while a downtime is declared, and while any
journal entry (not a drill's) is not yet filed, confirmed or closed by a reviewer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby import clock
from standby.clock import instant, parse_instant
from standby.settings import Settings
from standby.store import Store

log = logging.getLogger("standby.retention")

CHECKPOINT = "retention:last_pass"
BATCH = 2000  # rows per delete: a short write transaction, readers never wait long
FINAL_BACK_ENTRY = ("confirmed", "entered-by-hand", "discarded")  # recovery.state.FINAL


@dataclass(frozen=True)
class Rule:
    """Rows of `table` matching `where` (one `?`: the cutoff) are deleted in batches of
    `key` (the columns that name one row)."""

    name: str
    table: str
    key: str
    where: str
    cutoff: Callable[[datetime], object]
    held_by_back_entry: bool = False


def rules(settings: Settings) -> list[Rule]:
    def days(n: float) -> Callable[[datetime], str]:
        return lambda now: instant(now - timedelta(days=n))

    history_days = settings.history_retention_days
    return [
        Rule(
            "resource versions",
            "resource_history",
            "rid, version_id",
            "last_updated < ?",
            # the sources' own lastUpdated text: compared as text, right to within their offset
            lambda now: (now - timedelta(days=history_days)).strftime("%Y-%m-%dT%H:%M:%S"),
            held_by_back_entry=True,
        ),
        Rule(
            "tombstones",
            "resource",
            "rid",
            "deleted = 1 AND lu < ?",
            lambda now: int((now - timedelta(days=history_days)).timestamp() * 1000),
            held_by_back_entry=True,
        ),
        Rule("sync events", "sync_event", "id", "at < ?", days(settings.sync_event_retention_days)),
        Rule("quarantine", "quarantine", "id", "at < ?", days(settings.quarantine_retention_days)),
        Rule(
            "HL7 v2 messages answered",
            "hl7_received",
            "sender, control_id",
            "received_at < ?",
            days(settings.hl7_received_retention_days),
        ),
        Rule(
            "notifications",
            "monitor_outbox",
            "message_id, channel, recipient",
            "status IN ('sent', 'failed') AND next_attempt_at < ?",
            days(settings.notification_retention_days),
        ),
        Rule(
            "sessions",
            "web_sessions",
            "id",
            "last_seen < ?",
            lambda now: instant(now - timedelta(minutes=settings.session_idle_minutes)),
        ),
        Rule(
            "sessions past their shift",
            "web_sessions",
            "id",
            "created_at < ?",
            lambda now: instant(now - timedelta(hours=settings.session_absolute_hours)),
        ),
    ]


def back_entry_hold(store: Store) -> str | None:
    """Why the history must stay whole now (None: it may be pruned)."""
    from standby.monitor.status import current_status

    if current_status(store).in_downtime:
        return "a downtime is declared"
    with store.read_transaction() as tx:
        try:
            rows = tx.query("SELECT count(*) FROM journal_entries WHERE drill = 0")
        except Exception:  # no journal on this node yet
            return None
        if not rows or not int(rows[0][0]):
            return None
        try:
            marks = ",".join("?" * len(FINAL_BACK_ENTRY))
            open_ = tx.query(
                "SELECT count(*) FROM journal_entries j LEFT JOIN recovery_entries r"
                " ON r.entry_id = j.id WHERE j.drill = 0"
                f" AND (r.entry_id IS NULL OR r.status NOT IN ({marks}))",
                FINAL_BACK_ENTRY,
            )
        except Exception:  # journal entries, and back-entry never started
            return "journal entries are not yet filed into the EHR"
    n = int(open_[0][0]) if open_ else 0
    return f"{n} journal entries are not yet filed into the EHR" if n else None


def prune(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """One pass of every rule: rows deleted per rule (-1: held, the reason is logged)."""
    now = now or clock.now()
    hold = back_entry_hold(store)
    done: dict[str, int] = {}
    for rule in rules(settings):
        if rule.held_by_back_entry and hold:
            log.info("retention: %s kept whole: %s", rule.name, hold)
            done[rule.name] = -1
            continue
        done[rule.name] = done.get(rule.name, 0) + _delete(store, rule, rule.cutoff(now))
    return done


def _delete(store: Store, rule: Rule, cutoff: object) -> int:
    total = 0
    cols = rule.key
    pick = f"SELECT {cols} FROM {rule.table} WHERE {rule.where} LIMIT {BATCH}"
    if "," in cols:
        sql = f"DELETE FROM {rule.table} WHERE ({cols}) IN ({pick})"
    else:
        sql = f"DELETE FROM {rule.table} WHERE {cols} IN ({pick})"
    while True:
        try:
            with store.transaction() as tx:
                if rule.table == "resource":  # a tombstone's old versions go with it
                    tx.execute(
                        "DELETE FROM resource_history WHERE rid IN"
                        f" (SELECT rid FROM resource WHERE {rule.where} LIMIT {BATCH})",
                        (cutoff,),
                    )
                n = tx.execute(sql, (cutoff,))
        except Exception as e:  # the table is not on this node (that part never ran)
            if "no such table" in str(e) or "does not exist" in str(e):
                return total
            raise
        total += n
        if n < BATCH:
            return total


def due(store: Store, settings: Settings, now: datetime) -> bool:
    last = store.get_checkpoint(CHECKPOINT)
    if last is None:
        return True
    with contextlib.suppress(ValueError):
        return now - parse_instant(last) >= timedelta(minutes=settings.retention_interval_minutes)
    return True


def run_once(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """The pass when it is due (another process of this replica may have run it)."""
    now = now or clock.now()
    if not due(store, settings, now):
        return {}
    store.set_checkpoint(CHECKPOINT, instant(now))
    done = prune(store, settings, now)
    pruned = {k: v for k, v in done.items() if v}
    if pruned:
        log.info("retention pass: %s", pruned)
    return done


class RetentionPass:
    """`run_once` in a daemon thread every few minutes, until stopped."""

    def __init__(self, store: Store, settings: Settings, check_every_s: float = 300.0) -> None:
        self.store = store
        self.settings = settings
        self.check_every_s = check_every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="retention")

    def start(self) -> RetentionPass:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.store, self.settings)
            except Exception as e:  # a busy or closed replica: try again at the next check
                log.warning("retention pass failed: %s: %s", type(e).__name__, e)
            self._stop.wait(self.check_every_s)
