"""Channels that carry a notification to one recipient: SMTP email, JSON webhooks, plug-ins.

A channel sends once per call and raises `DeliveryError` when it could not; retries with
backoff belong to the outbox (`standby.monitor.notify.outbox`), so every channel gets them.
A plug-in (an SMS or pager gateway) is any object with `name` and `send(notification,
recipient)`, made by a factory named in settings as `scheme=module:factory`; recipients
written `scheme:address` go to it.
"""

from __future__ import annotations

import importlib
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import httpx
import orjson

from standby.monitor.notify.messages import Notification


class DeliveryError(Exception):
    """The channel could not deliver this time (the outbox will retry)."""


class Channel(Protocol):
    name: str

    def send(self, notification: Notification, recipient: str) -> None: ...


@dataclass
class EmailChannel:
    """Email over SMTP (smtplib), one message per recipient, `Message-ID` from the message id."""

    host: str
    port: int = 25
    sender: str = "standby@localhost"
    timeout_s: float = 10.0
    name: str = "email"

    def send(self, notification: Notification, recipient: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = recipient
        msg["Subject"] = notification.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = f"<{notification.message_id.replace(':', '.')}@standby>"
        msg["X-Standby-Event"] = notification.event
        msg.set_content(notification.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {e}") from e


@dataclass
class WebhookChannel:
    """JSON POST to the recipient URL; 2xx is delivered. `Idempotency-Key` = message id."""

    timeout_s: float = 10.0
    name: str = "webhook"

    def send(self, notification: Notification, recipient: str) -> None:
        payload = {
            "message_id": notification.message_id,
            "event": notification.event,
            "incident_id": notification.incident_id,
            "drill": notification.drill,
            "subject": notification.subject,
            "text": notification.body,
        }
        try:
            r = httpx.post(
                recipient,
                content=orjson.dumps(payload),
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": notification.message_id,
                },
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from e
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"HTTP {r.status_code}")


def load_plugins(specs: Sequence[str]) -> dict[str, Channel]:
    """`scheme=module:factory` → the channel the factory returns, keyed by scheme."""
    out: dict[str, Channel] = {}
    for spec in specs:
        scheme, sep, target = spec.partition("=")
        module, colon, factory = target.partition(":")
        if not sep or not colon:
            raise ValueError(f"channel plug-in {spec!r}: write scheme=module:factory")
        out[scheme.strip()] = getattr(importlib.import_module(module), factory)()
    return out


def route(recipient: str) -> tuple[str, str]:
    """(channel, address) of a recipient: an email address (or `mailto:`), an http(s) URL
    (webhook), or `scheme:address` for a plug-in."""
    recipient = recipient.strip()
    if recipient.startswith(("http://", "https://")):
        return "webhook", recipient
    scheme, sep, rest = recipient.partition(":")
    if sep and scheme == "mailto":
        return "email", rest
    if sep and "@" not in scheme:
        return scheme, rest
    if "@" in recipient:
        return "email", recipient
    raise ValueError(f"recipient {recipient!r}: an email address, an http(s) URL or scheme:addr")
