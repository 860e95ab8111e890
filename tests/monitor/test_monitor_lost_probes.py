"""Lost probes against real sockets, folded by `round_health` and fed to the state machine
with the default thresholds: a request lost while the EHR answered another critical probe
in the same round is not an outage; a server error or silence on every probe still is."""

from __future__ import annotations

from standby.clock import now as utcnow
from standby.monitor import probes
from standby.monitor.probes import Prober, ProbeSpec
from standby.monitor.state import Health, Machine, State, Thresholds, observe
from support.monitor_receivers import FakeEHR, free_port


def _declared(rounds: list[list[ProbeSpec]], prober: Prober) -> bool:
    m = Machine()
    for specs in rounds:
        at = utcnow()
        step = observe(m, probes.round_health([prober.run(s, at) for s in specs], at))
        m = step.machine
    return m.state is State.DOWNTIME


def test_alternating_lost_probes_while_the_ehr_answers_never_declare() -> None:
    prober = Prober(token_provider=lambda: "t")
    dead = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens: the request is lost
    with FakeEHR() as ehr:
        meta, read = probes.ehr_probes(ehr.url, interval_s=1, timeout_s=2, latency_ms=5000)
        meta_lost = ProbeSpec("ehr-metadata", "fhir-metadata", f"{dead}/metadata", timeout_s=2)
        read_lost = ProbeSpec("ehr-read", "fhir-read", f"{dead}/Patient", timeout_s=2)
        one = probes.round_health(
            [prober.run(meta_lost, utcnow()), prober.run(read, utcnow())], utcnow()
        )
        assert one.health is Health.SLOW and "ehr-read answered" in one.evidence
        # three rounds in a row each lost one probe, and the EHR answered the other
        alternating = [[meta_lost, read], [meta, read_lost], [meta_lost, read]]
        assert not _declared(alternating, prober)
        assert not _declared([[meta_lost, read]] * 4, prober)
        # a server error is the EHR saying it is broken (a database down behind a live
        # front): still an outage even though /metadata answers
        ehr.outage = True
        error = prober.run(read, utcnow())
        ehr.outage = False
        assert error.detail == "HTTP 503" and not error.lost
        m = Machine()
        for _ in range(3):
            at = utcnow()
            m = observe(m, probes.round_health([prober.run(meta, at), error], at)).machine
        assert m.state is State.DOWNTIME
    # nothing answers at all: an outage
    assert _declared([[meta_lost, read_lost]] * 3, prober)
    prober.close()


def test_a_probe_lost_longer_than_a_burst_fails_its_rounds() -> None:
    """A read that hangs while /metadata answers is an outage (a hung database): it is
    declared once the read has been lost longer than `lost_rounds_tolerated` rounds."""
    prober = Prober(token_provider=lambda: "t")
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    th = Thresholds()
    with FakeEHR() as ehr:
        meta, _ = probes.ehr_probes(ehr.url, interval_s=1, timeout_s=2, latency_ms=5000)
        read_lost = ProbeSpec("ehr-read", "fhir-read", f"{dead}/Patient", timeout_s=2)
        burst = th.lost_rounds_tolerated
        assert not _declared([[meta, read_lost]] * (burst + th.failures_to_declare - 1), prober)
        assert _declared([[meta, read_lost]] * (burst + th.failures_to_declare), prober)
    prober.close()


def test_a_name_that_does_not_resolve_is_a_flap_until_it_lasts() -> None:
    prober = Prober()
    gone = "http://standby-monitor-test.invalid/fhir"  # .invalid never resolves (RFC 6761)
    specs = [
        ProbeSpec("ehr-metadata", "fhir-metadata", f"{gone}/metadata", timeout_s=2),
        ProbeSpec("ehr-read", "fhir-read", f"{gone}/Patient", timeout_s=2),
    ]
    first = prober.run(specs[0], utcnow())
    assert first.lost and first.unresolved
    th = Thresholds()
    assert not _declared([specs] * th.lost_rounds_tolerated, prober)
    assert _declared([specs] * (th.lost_rounds_tolerated + th.failures_to_declare), prober)
    prober.close()
