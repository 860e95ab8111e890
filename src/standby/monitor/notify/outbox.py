"""The outbox: every notification to every recipient is a row; delivery retries with backoff.

Exactly once from the sender's side: a row is claimed (`sending`) in one transaction,
sent, then marked `sent` in another; a sent row is never picked again, and enqueueing the
same message id twice adds nothing (`INSERT` only when absent). A row left `sending` by a
crash is retried after `stale_claim`, which is why webhooks carry the message id as
`Idempotency-Key` (receivers can drop the rare repeat).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby import clock
from standby.clock import instant, parse_instant
from standby.monitor.notify.channels import Channel, DeliveryError, route
from standby.monitor.notify.messages import Notification
from standby.store.base import Store, Transaction


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 2.0
    factor: float = 2.0
    max_s: float = 300.0
    max_attempts: int = 8
    stale_claim_s: float = 120.0

    def delay(self, attempts: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    message_id: str
    channel: str
    recipient: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: str | None


def enqueue(tx: Transaction, n: Notification, recipients: Iterable[str], now: datetime) -> int:
    """Add one row per recipient unless that message already went (or is going) to it."""
    added = 0
    for recipient in recipients:
        channel, address = route(recipient)
        exists = tx.query(
            "SELECT 1 FROM monitor_outbox WHERE message_id = ? AND channel = ? AND recipient = ?",
            (n.message_id, channel, address),
        )
        if exists:
            continue
        tx.execute(
            "INSERT INTO monitor_outbox (message_id, channel, recipient, incident_id, event, "
            "subject, body, status, attempts, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
            (
                n.message_id,
                channel,
                address,
                n.incident_id,
                n.event,
                n.subject,
                n.body,
                instant(now),
            ),
        )
        added += 1
    return added


def deliver_due(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    now: Callable[[], datetime] = clock.now,
    backoff: Backoff = Backoff(),
    on_sent: Callable[[OutboxRow], None] | None = None,
) -> int:
    """Send every row that is due; returns how many were sent now."""
    sent = 0
    while True:
        at = now()
        stale = instant(at - timedelta(seconds=backoff.stale_claim_s))
        with store.transaction() as tx:
            rows = tx.query(
                "SELECT message_id, channel, recipient, incident_id, event, subject, body, "
                "attempts FROM monitor_outbox WHERE (status = 'pending' AND next_attempt_at <= ?)"
                " OR (status = 'sending' AND next_attempt_at <= ?) "
                "ORDER BY next_attempt_at LIMIT 1",
                (instant(at), stale),
            )
            if not rows:
                return sent
            mid, channel, recipient, incident_id, event, subject, body, attempts = rows[0]
            tx.execute(
                "UPDATE monitor_outbox SET status = 'sending', attempts = attempts + 1, "
                "next_attempt_at = ? WHERE message_id = ? AND channel = ? AND recipient = ?",
                (instant(at), mid, channel, recipient),
            )
        attempts += 1
        n = Notification(mid, event, incident_id, subject, body, "DRILL" in subject)
        error: str | None = None
        ch = channels.get(channel)
        if ch is None:
            error = f"no {channel!r} channel is configured"
        else:
            try:
                ch.send(n, recipient)
            except DeliveryError as e:
                error = str(e)[:500]
            except Exception as e:  # a plug-in's own bug must not stop the others
                error = f"{type(e).__name__}: {e}"[:500]
        with store.transaction() as tx:
            if error is None:
                tx.execute(
                    "UPDATE monitor_outbox SET status = 'sent', sent_at = ?, last_error = NULL "
                    "WHERE message_id = ? AND channel = ? AND recipient = ?",
                    (instant(now()), mid, channel, recipient),
                )
            else:
                final = attempts >= backoff.max_attempts
                tx.execute(
                    "UPDATE monitor_outbox SET status = ?, last_error = ?, next_attempt_at = ? "
                    "WHERE message_id = ? AND channel = ? AND recipient = ?",
                    (
                        "failed" if final else "pending",
                        error,
                        instant(now() + timedelta(seconds=backoff.delay(attempts))),
                        mid,
                        channel,
                        recipient,
                    ),
                )
        if error is None:
            sent += 1
            if on_sent is not None:
                on_sent(OutboxRow(mid, channel, recipient, event, "sent", attempts, None, None))


def drain(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    timeout_s: float,
    backoff: Backoff = Backoff(),
    on_sent: Callable[[OutboxRow], None] | None = None,
) -> int:
    """Deliver until nothing is pending (or the timeout): for commands run outside the server."""
    deadline = time.monotonic() + timeout_s
    sent = 0
    while True:
        sent += deliver_due(store, channels, backoff=backoff, on_sent=on_sent)
        with store.read_transaction() as tx:
            pending = tx.query(
                "SELECT MIN(next_attempt_at) FROM monitor_outbox WHERE status IN "
                "('pending', 'sending')"
            )[0][0]
        if pending is None or time.monotonic() >= deadline:
            return sent
        wait = (parse_instant(pending) - clock.now()).total_seconds()
        time.sleep(min(0.5, max(0.005, wait), max(0.0, deadline - time.monotonic())))


def rows(store: Store, incident_id: str | None = None) -> list[OutboxRow]:
    sql = (
        "SELECT message_id, channel, recipient, event, status, attempts, last_error, sent_at "
        "FROM monitor_outbox"
    )
    params: tuple[str, ...] = ()
    if incident_id is not None:
        sql += " WHERE incident_id = ?"
        params = (incident_id,)
    with store.read_transaction() as tx:
        return [OutboxRow(*r) for r in tx.query(sql + " ORDER BY next_attempt_at", params)]
