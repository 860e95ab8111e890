"""The monitor's configuration, taken from settings by the composition root.

`MonitorConfig.from_settings` reads the `monitor_*` fields of `standby.settings.Settings`
(duck-typed: monitor imports nothing but the store). docs/settings.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from standby.monitor.notify.channels import Channel, EmailChannel, WebhookChannel, load_plugins
from standby.monitor.notify.outbox import Backoff
from standby.monitor.state import Thresholds
from standby.monitor.status import DEFAULT_WHAT_TO_DO


@dataclass(frozen=True)
class MonitorConfig:
    interval_s: float = 10.0
    timeout_s: float = 5.0
    latency_ms: float = 2000.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    retention: timedelta = timedelta(hours=48)
    reminder_minutes: float = 30.0
    recipients: tuple[str, ...] = ()  # every event, unless event_recipients names it
    event_recipients: dict[str, list[str]] = field(default_factory=dict)
    drill_recipients: tuple[str, ...] = ()
    templates: dict[str, str] = field(default_factory=dict)
    what_to_do: str = DEFAULT_WHAT_TO_DO
    status_url: str = "/status"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "standby@localhost"
    channel_plugins: tuple[str, ...] = ()
    extra_probes: tuple[str, ...] = ()
    read_path: str = "Patient?_count=1"
    token_url: str | None = None
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_settings(cls, s: Any, **overrides: Any) -> MonitorConfig:
        values: dict[str, Any] = {
            "interval_s": s.monitor_interval_seconds,
            "timeout_s": s.monitor_timeout_seconds,
            "latency_ms": s.monitor_latency_threshold_ms,
            "thresholds": Thresholds(
                failures_to_declare=s.monitor_failures_to_declare,
                healthy_to_clear=s.monitor_healthy_to_clear,
                healthy_to_propose=s.monitor_healthy_to_propose_recovery,
            ),
            "retention": timedelta(hours=s.monitor_retention_hours),
            "reminder_minutes": s.monitor_reminder_minutes,
            "recipients": (*s.monitor_email_recipients, *s.monitor_webhook_urls),
            "event_recipients": dict(s.monitor_event_recipients),
            "drill_recipients": tuple(s.monitor_drill_recipients),
            "templates": dict(s.monitor_templates),
            "what_to_do": s.monitor_what_to_do,
            "status_url": s.monitor_status_url or f"http://{s.host}:{s.port}/status",
            "smtp_host": s.monitor_smtp_host,
            "smtp_port": s.monitor_smtp_port,
            "smtp_from": s.monitor_smtp_from,
            "channel_plugins": tuple(s.monitor_channel_plugins),
            "extra_probes": tuple(s.monitor_extra_probes),
            "read_path": s.monitor_read_path,
            "token_url": s.monitor_token_url,
        }
        values.update(overrides)
        return cls(**values)

    def recipients_for(self, event: str, drill: bool, notify_real: bool) -> list[str]:
        if drill and not notify_real:
            return list(self.drill_recipients)
        if event in self.event_recipients:
            return list(self.event_recipients[event])
        return list(self.recipients)

    def channels(self) -> dict[str, Channel]:
        out: dict[str, Channel] = {"webhook": WebhookChannel()}
        if self.smtp_host:
            out["email"] = EmailChannel(self.smtp_host, self.smtp_port, self.smtp_from)
        out.update(load_plugins(self.channel_plugins))
        return out
