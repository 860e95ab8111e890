"""Notifications through real receivers: webhook retries (exactly once) and SMTP email."""

from __future__ import annotations

from typing import Any

from standby.clock import now as utcnow
from standby.monitor import downtime, incidents
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.notify.channels import EmailChannel, WebhookChannel, route
from standby.monitor.notify.messages import render
from standby.monitor.notify.outbox import Backoff
from support.monitor_receivers import WebhookReceiver, smtp_server

FAST = Backoff(first_s=0.01, factor=2.0, max_s=0.05, max_attempts=5)


def test_webhook_that_fails_twice_gets_the_message_exactly_once(store: Any) -> None:
    from standby.monitor import schema

    schema.ensure(store)
    n = render(
        "declared",
        {"since": "08:00"},
        message_id="INC-1:declared",
        incident_id="INC-1",
        drill=False,
    )
    with WebhookReceiver(fail_first=2) as hook:
        with store.transaction() as tx:
            assert outbox.enqueue(tx, n, [hook.url], utcnow()) == 1
        channels = {"webhook": WebhookChannel(timeout_s=5)}
        assert outbox.drain(store, channels, timeout_s=10, backoff=FAST) == 1
        # enqueueing the same message again, and delivering again, sends nothing more
        with store.transaction() as tx:
            assert outbox.enqueue(tx, n, [hook.url], utcnow()) == 0
        assert outbox.drain(store, channels, timeout_s=1, backoff=FAST) == 0
        assert hook.requests == 3
        assert [a["message_id"] for a in hook.accepted] == ["INC-1:declared"]
        assert hook.keys == ["INC-1:declared"]
    (row,) = outbox.rows(store)
    assert (row.status, row.attempts) == ("sent", 3)


def test_webhook_that_never_answers_is_given_up_after_max_attempts(store: Any) -> None:
    from standby.monitor import schema

    schema.ensure(store)
    n = render("ended", {}, message_id="INC-2:ended", incident_id="INC-2", drill=False)
    with WebhookReceiver(fail_first=100) as hook:
        with store.transaction() as tx:
            outbox.enqueue(tx, n, [hook.url], utcnow())
        outbox.drain(store, {"webhook": WebhookChannel(timeout_s=5)}, timeout_s=10, backoff=FAST)
        assert hook.requests == FAST.max_attempts and hook.accepted == []
    (row,) = outbox.rows(store)
    assert row.status == "failed" and row.last_error == "HTTP 500"


def test_declaration_emails_every_recipient_without_patient_data(store: Any) -> None:
    with smtp_server() as (port, received):
        cfg = MonitorConfig(
            recipients=("charge.nurse@hospital.test", "ic@hospital.test"),
            smtp_host="127.0.0.1",
            smtp_port=port,
            status_url="http://standby.test/status",
        )
        out = downtime.declare(
            store, cfg, "ic.jones", utcnow(), reason="planned", message="Use paper MAR on all units"
        )
        assert out.declared
        channels = {"email": EmailChannel("127.0.0.1", port)}
        assert outbox.drain(store, channels, timeout_s=10, backoff=FAST) == 2
        assert sorted(r[0] for r, _ in received) == [
            "charge.nurse@hospital.test",
            "ic@hospital.test",
        ]
        _, msg = received[0]
        assert msg["Subject"].startswith("EHR DOWNTIME declared")
        body = msg.get_payload()
        assert "Use paper MAR on all units" in body and "http://standby.test/status" in body
        assert out.declared in body


def test_drill_notifies_only_drill_recipients_unless_asked(store: Any) -> None:
    cfg = MonitorConfig(
        recipients=("everyone@hospital.test",), drill_recipients=("drill.team@hospital.test",)
    )
    downtime.declare(store, cfg, "ic", utcnow(), drill=True)
    assert [r.recipient for r in outbox.rows(store)] == ["drill.team@hospital.test"]
    (inc,) = incidents.recent(store)
    assert inc.drill and inc.id.startswith("DRILL-")
    n = outbox.rows(store)[0]
    assert n.event == "declared"


def test_recipients_route_to_channels() -> None:
    assert route("a@b.test") == ("email", "a@b.test")
    assert route("mailto:a@b.test") == ("email", "a@b.test")
    assert route("https://hooks.test/x") == ("webhook", "https://hooks.test/x")
    assert route("sms:+15550100") == ("sms", "+15550100")
