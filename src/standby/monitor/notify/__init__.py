"""Notifications: messages (no patient data), channels, and the outbox that sends each once.

* `messages` — the events (declared, reminder, recovery-proposed, ended), their templates
  and the `Notification` each becomes;
* `channels` — the `Channel` interface; SMTP email, JSON webhooks, and plug-ins for SMS or
  pager gateways (`scheme=module:factory`);
* `outbox` — one row per message, channel and recipient in the replica database; delivery
  with retries and exponential backoff; a row once sent is never sent again (exactly once
  from the sender's side; webhooks carry the message id as `Idempotency-Key`).

docs/monitor.md#notifications
"""
