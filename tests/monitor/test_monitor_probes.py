"""Probes against real sockets, the folding of a round, extra-probe syntax, reminders."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest

from standby.clock import instant
from standby.clock import now as utcnow
from standby.monitor import downtime, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.probes import Prober, ProbeResult, ProbeSpec, parse_extra_probe
from standby.monitor.state import Health
from support.monitor_receivers import FakeEHR, free_port


def test_http_probes_classify_answers() -> None:
    prober = Prober(token_provider=lambda: "t")
    with FakeEHR() as ehr:
        specs = probes.ehr_probes(ehr.url, interval_s=1, timeout_s=2, latency_ms=5000)
        assert [prober.run(s, utcnow()).outcome for s in specs] == [Health.OK, Health.OK]
        ehr.outage = True
        r = prober.run(specs[0], utcnow())
        assert r.outcome is Health.FAILED and r.detail == "HTTP 503"
        ehr.outage = False
        slow = ProbeSpec("m", "fhir-metadata", f"{ehr.url}/metadata", latency_ms=0.0)
        assert prober.run(slow, utcnow()).outcome is Health.SLOW
    refused = prober.run(specs[0], utcnow())  # the server is gone
    assert refused.outcome is Health.FAILED and "Connect" in refused.detail
    prober.close()


def test_tcp_and_dns_probes() -> None:
    prober = Prober()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ok = prober.run(ProbeSpec("t", "tcp", f"127.0.0.1:{port}", ehr=False), utcnow())
        assert ok.outcome is Health.OK
    closed = prober.run(ProbeSpec("t", "tcp", f"127.0.0.1:{free_port()}", ehr=False), utcnow())
    assert closed.outcome is Health.FAILED
    assert prober.run(ProbeSpec("d", "dns", "localhost", ehr=False), utcnow()).outcome is (
        Health.OK
    )


def test_round_health_counts_only_the_ehr_and_its_critical_probes() -> None:
    at = utcnow()

    def res(name: str, outcome: Health, ehr: bool = True, critical: bool = True) -> ProbeResult:
        return ProbeResult(name, "http", at, outcome, 1.0, outcome.value, ehr, critical)

    ok = res("ehr-metadata", Health.OK)
    assert probes.round_health([ok, res("lab", Health.FAILED, ehr=False)], at).health is Health.OK
    token_down = res("ehr-token", Health.FAILED, critical=False)
    assert probes.round_health([ok, token_down], at).health is Health.SLOW
    assert probes.round_health([ok, res("ehr-read", Health.FAILED)], at).health is Health.FAILED


def test_extra_probe_syntax() -> None:
    kw = {"interval_s": 10.0, "timeout_s": 5.0, "latency_ms": 2000.0}
    lab = parse_extra_probe("lab=https://lis.test/health interval=30 latency_ms=800", **kw)
    assert (lab.name, lab.kind, lab.target, lab.interval_s, lab.latency_ms, lab.ehr) == (
        "lab",
        "http",
        "https://lis.test/health",
        30.0,
        800.0,
        False,
    )
    pacs = parse_extra_probe("tcp://pacs.test:104", **kw)
    assert (pacs.kind, pacs.target) == ("tcp", "pacs.test:104")
    assert parse_extra_probe("dns://ehr.test", **kw).target == "ehr.test"
    for bad in ("ftp://x", "tcp://nohost", "lab=http://x bogus=1"):
        with pytest.raises(ValueError):
            parse_extra_probe(bad, **kw)


def test_results_are_pruned_after_the_retention(store: Any) -> None:
    from standby.monitor import schema

    schema.ensure(store)
    now = utcnow()
    old = ProbeResult("p", "http", now - timedelta(hours=50), Health.OK, 1.0, "x")
    new = ProbeResult("p", "http", now, Health.OK, 1.0, "x")
    with store.transaction() as tx:
        probes.record(tx, [old, new])
        assert probes.prune(tx, now, timedelta(hours=48)) == 1
    assert [p.at for p in probes.series(store, "p", now - timedelta(days=9))] == [instant(new.at)]


def test_reminders_every_configured_minutes(store: Any, clock: Any) -> None:
    cfg = MonitorConfig(recipients=("ic@hospital.test",), reminder_minutes=30)
    downtime.declare(store, cfg, "ic", clock())
    assert not downtime.queue_reminder(store, cfg, clock.advance(29 * 60))
    assert downtime.queue_reminder(store, cfg, clock.advance(60))
    assert not downtime.queue_reminder(store, cfg, clock.advance(60))
    assert downtime.queue_reminder(store, cfg, clock.advance(30 * 60))
    events = [(r.event, r.message_id.split(":", 1)[1]) for r in outbox.rows(store)]
    assert events == [
        ("declared", "declared"),
        ("reminder", "reminder:1"),
        ("reminder", "reminder:2"),
    ]
    body = [r for r in outbox.rows(store)][1]
    assert body.recipient == "ic@hospital.test"


def test_a_failing_packet_run_is_on_the_timeline(store: Any) -> None:
    from standby.monitor import incidents

    out = downtime.declare(store, MonitorConfig(), "ic", utcnow())
    assert out.declared

    def broken(banner: str, now: Any) -> str:
        raise RuntimeError("printer on fire")

    downtime.run_packets(store, broken, out.declared, False, utcnow)
    downtime.run_packets(store, broken, out.declared, False, utcnow)  # claimed once only
    texts = [e.text for e in incidents.timeline(store, out.declared, ("packets",))]
    assert texts == ["packet generation FAILED: RuntimeError: printer on fire"]
