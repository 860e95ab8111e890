"""The runner against a real HTTP endpoint: detection, incident, packets, recovery, report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from standby.clock import now as utcnow
from standby.monitor import after_action, downtime, drills, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.runner import MonitorRunner
from standby.monitor.state import InvalidTransition
from standby.monitor.status import current_status
from support.monitor_receivers import FakeEHR

CFG = MonitorConfig(interval_s=0.05, timeout_s=2.0, latency_ms=2000.0)


def _runner(store: Any, url: str | None, packets: list[str]) -> MonitorRunner:
    def hook(banner: str, now: datetime) -> str:
        packets.append(banner)
        return "3 units, 42 pages"

    return MonitorRunner(
        store, CFG, url, token_provider=lambda: "tok-123", packet_hook=hook, channels={}
    )


def _join(r: MonitorRunner) -> None:
    for t in r._threads:
        t.join(10)


def test_outage_declares_then_recovery_is_proposed_and_confirmed(store: Any) -> None:
    packets: list[str] = []
    with FakeEHR() as ehr:
        r = _runner(store, ehr.url, packets)
        r.run_once()
        assert current_status(store).state == "normal"
        assert "Bearer tok-123" in ehr.auth_seen
        ehr.outage = True
        states = [r.run_once() and current_status(store).state for _ in range(3)]
        assert states == ["degraded", "degraded", "downtime"]
        _join(r)
        s = current_status(store)
        assert s.in_downtime and s.incident_id and not s.drill
        assert "downtime packets" in s.what_to_do
        assert packets == ["DOWNTIME"]
        ehr.outage = False
        for _ in range(3):
            r.run_once()
        assert current_status(store).state == "recovering"
        with pytest.raises(InvalidTransition):
            downtime.declare(store, CFG, "ic", utcnow())
        downtime.confirm_end(store, CFG, "ic.jones", utcnow())
        assert current_status(store).state == "normal"
        r.stop()
    inc = incidents.get(store, s.incident_id)
    assert inc is not None and inc.how == "automatic" and inc.declared_by == "monitor"
    assert inc.ended_by == "ic.jones" and inc.first_packet_at is not None
    kinds = [e.kind for e in incidents.timeline(store, inc.id)]
    assert kinds[:2] == ["declared", "evidence"]
    assert {"packets", "recovery-proposed", "ended"} <= set(kinds)
    evidence = incidents.timeline(store, inc.id, ("evidence",))[0].text
    assert "HTTP 503" in evidence
    assert len(probes.latest(store)) == 2


def test_log_checklist_and_after_action_report(store: Any) -> None:
    out = downtime.declare(store, CFG, "ic.jones", utcnow(), reason="ransomware precaution")
    iid = out.declared
    assert iid
    incidents.add_log_entry(store, iid, utcnow(), "nurse.lee", "4W running on paper MAR")
    items = incidents.checklist(store, iid)
    assert {c.role for c in items} == set(incidents.ROLES)
    incidents.set_item_done(store, iid, items[0].position, True, "ic.jones", utcnow())
    pos = incidents.edit_item(
        store, iid, None, "logistics", "Bring the spare label printer", "log.chief", utcnow()
    )
    downtime.confirm_end(store, CFG, "ic.jones", utcnow())
    report = after_action.build(store, iid)
    md = after_action.markdown(report)
    assert "4W running on paper MAR" in md and "ransomware precaution" in md
    assert "- [x] **commander**" in md and "Bring the spare label printer" in md
    assert "Time to first documentation | not available yet" in md
    pdf = after_action.pdf(report)
    assert pdf.startswith(b"%PDF")
    assert any(c.position == pos for c in incidents.checklist(store, iid))


def test_drill_runs_the_detection_path_and_is_labelled(store: Any, tmp_path: Any) -> None:
    import io

    from pypdf import PdfReader

    packets: list[str] = []
    r = _runner(store, None, packets)  # no source: the drill simulates the outage
    drills.start(store, "ic.jones", utcnow())
    assert current_status(store).label.startswith("DRILL")
    for _ in range(3):
        r.run_once()
    _join(r)
    s = current_status(store)
    assert s.state == "downtime" and s.drill and s.label == "DRILL — EHR DOWNTIME"
    assert packets == ["DRILL"]
    for _ in range(3):
        r.run_once()
    assert current_status(store).state == "recovering"
    downtime.confirm_end(store, CFG, "ic.jones", utcnow())
    r.stop()
    rep = drills.report(store)
    assert rep.incident_id == s.incident_id
    assert rep.time_to_detection.endswith("s") and rep.time_to_first_packet.endswith("s")
    assert rep.time_to_first_documentation.startswith("not available yet")
    pdf = after_action.pdf(after_action.build(store, rep.incident_id))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert all("DRILL" in p.extract_text() for p in pages)


def test_banner_since_is_the_declaration_even_while_recovering(store: Any) -> None:
    from standby.monitor import state as sm
    from standby.monitor.probes import ProbeResult

    t0 = utcnow()
    out = downtime.declare(store, CFG, "ic", t0)
    assert out.declared
    at = t0
    for health in [sm.Health.FAILED] + [sm.Health.OK] * 3:
        at = at + timedelta(seconds=10)
        r = ProbeResult("ehr-metadata", "fhir-metadata", at, health, 1.0, health.value)
        downtime.apply_round(store, CFG, [r], probes.round_health([r], at))
    s = current_status(store)
    assert s.state == "recovering" and s.since == t0
