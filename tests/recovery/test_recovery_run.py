"""Back-entry against the simulated EHR over real HTTP: everything that stands is filed
exactly once (searched at the EHR by each identifier), read back and confirmed; a run
again sends nothing new; faults (503, 429, connection resets) change nothing; a server
without transactions gets single requests with the same result; a conflict is kept and
nothing is overwritten; struck entries are not sent and corrections are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby.journal.entries import Kind
from standby.journal.fhir_mapping import URI_SYSTEM, entry_identifier
from standby.recovery import leases, state
from standby.recovery.plan import provenance_id
from standby.recovery.state import Status
from support.recovery_support import (
    Site,
    assert_exactly_once,
    copies_at_ehr,
    count_type,
    make_site,
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = make_site(tmp_path, patients=4, hours=6, registrations=1)
    try:
        yield s
    finally:
        s.close()


def _statuses(site: Site) -> dict[str, int]:
    return {k: v for k, v in state.totals(site.replica).items() if v}


def test_everything_that_stands_is_filed_once_and_confirmed(site: Site) -> None:
    result = site.run()
    assert result.transactions and result.stopped is None
    plan = site.plan()
    assert _statuses(site) == {"confirmed": len(plan.steps)}
    n = assert_exactly_once(site.base, plan)
    assert n > len(plan.steps)
    # confirmed means read back: the ids and versions the EHR gave are kept
    some = state.list_by_status(site.replica, "confirmed")[0]
    assert some.written and all(w.id and w.version_id for w in some.written)
    got = httpx.get(f"{site.base}/{some.written[0].reference}").json()
    assert got["id"] == some.written[0].id
    # each entry's Provenance, once, naming who documented it and "entered during downtime"
    prov = httpx.get(f"{site.base}/Provenance/{provenance_id(some.entry_id)}").json()
    assert prov["reason"][0]["text"].startswith("Entered during EHR downtime")
    assert count_type(site.base, "Provenance") == len(plan.steps)


def test_a_second_run_sends_nothing_and_files_nothing_twice(site: Site) -> None:
    site.run()
    before = {t: count_type(site.base, t) for t in ("Observation", "Provenance", "Patient")}
    again = site.run()
    assert again.confirmed == 0 and again.patients == 0
    assert {t: count_type(site.base, t) for t in before} == before


@pytest.mark.slow
def test_entries_sent_but_not_recorded_are_sent_again_and_filed_once(site: Site) -> None:
    """A runner killed after sending and before recording: its entries stay `sent`."""
    site.run()
    plan = site.plan()
    confirmed = state.list_by_status(site.replica, "confirmed")
    # as if the run had died after sending: put entries back to `sent` by hand
    with site.replica.transaction() as db:
        db.execute("UPDATE recovery_entries SET status = 'sent', written = NULL")
    result = site.run()
    assert result.confirmed == len(confirmed)
    assert_exactly_once(site.base, plan)
    assert count_type(site.base, "Provenance") == len(plan.steps)


@pytest.mark.slow
def test_faults_change_nothing(site: Site) -> None:
    site.handle.set_faults(error_rate=0.3)
    result = site.run()
    site.handle.set_faults(error_rate=0.0)
    assert result.stopped is None
    plan = site.plan()
    assert _statuses(site) == {"confirmed": len(plan.steps)}
    assert_exactly_once(site.base, plan)


@pytest.mark.slow
def test_an_outage_stops_the_run_and_the_next_run_finishes(site: Site) -> None:
    site.handle.set_faults(outage=True)
    with site.client(policy=None) as client:
        from standby.recovery import execute
        from standby.sync.http import RetryPolicy

        client.policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
        stopped = execute.run(
            site.replica,
            client,
            decisions_of=lambda s: dict.fromkeys(site.registrations()),
            node="n1",
            transactions=True,
        )
    assert stopped.stopped and stopped.confirmed == 0
    site.handle.set_faults(outage=False)
    result = site.run()
    assert result.stopped is None
    assert_exactly_once(site.base, site.plan())


@pytest.mark.slow
def test_a_server_without_transactions_gets_single_requests_with_the_same_result(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, patients=3, hours=6, registrations=1, strict="no-transaction")
    try:
        result = site.run()
        assert not result.transactions
        plan = site.plan()
        assert _statuses(site) == {"confirmed": len(plan.steps)}
        assert_exactly_once(site.base, plan)
        # the same resources as with transactions: registrations' patients and encounters
        # referred to by the ids the EHR gave
        reg = site.registrations()[0]
        ident = str(entry_identifier(reg)["value"])
        patient = httpx.get(
            f"{site.base}/Patient", params={"identifier": f"{URI_SYSTEM}|{ident}"}
        ).json()["entry"][0]["resource"]
        vitals = next(e for e in site.entries if e.patient_id == reg and e.kind is Kind.VITALS)
        obs = state.get(site.replica, vitals.id)
        assert obs is not None and obs.status is Status.CONFIRMED
        got = httpx.get(f"{site.base}/{obs.written[0].reference}").json()
        assert got["subject"]["reference"] == f"Patient/{patient['id']}"
    finally:
        site.close()


def test_a_transfer_after_the_ehr_changed_the_encounter_is_a_conflict(site: Site) -> None:
    transfer = next(e for e in site.entries if e.kind is Kind.TRANSFER)
    enc_id = transfer.encounter_id
    assert enc_id is not None
    # someone changes the encounter in the EHR after the clinician saw it
    current = httpx.get(f"{site.base}/Encounter/{enc_id}").json()
    current["status"] = "onleave"
    current.pop("meta", None)
    assert httpx.put(f"{site.base}/Encounter/{enc_id}", json=current).status_code == 200
    before = httpx.get(f"{site.base}/Encounter/{enc_id}").json()
    site.run()
    got = state.get(site.replica, transfer.id)
    assert got is not None and got.status is Status.CONFLICT
    assert "412" in (got.last_error or "") and got.outcome is not None
    after = httpx.get(f"{site.base}/Encounter/{enc_id}").json()
    assert after == before  # nothing overwritten
    # the patient's other entries are filed all the same (the transaction was split)
    others = [
        e for e in site.entries if e.patient_id == transfer.patient_id and e.id != transfer.id
    ]
    statuses = {state.get(site.replica, e.id).status for e in others}  # type: ignore[union-attr]
    assert Status.CONFIRMED in statuses
    assert statuses <= {Status.CONFIRMED, Status.CONFLICT}


def test_an_update_sent_again_after_its_answer_was_lost_is_confirmed(site: Site) -> None:
    site.run()
    transfer = next(e for e in site.entries if e.kind is Kind.TRANSFER)
    with site.replica.transaction() as db:
        db.execute("UPDATE recovery_entries SET status = 'sent' WHERE entry_id = ?", (transfer.id,))
    site.run(transactions=False)  # PUT If-Match on the old version: 412, then read: ours
    got = state.get(site.replica, transfer.id)
    assert got is not None and got.status is Status.CONFIRMED, got.last_error


def test_struck_entries_are_not_sent_and_corrections_are(tmp_path: Path) -> None:
    from standby.bench import backentry_journal as bj
    from support.recovery_support import DOWNTIME_START

    entries = bj.journal(6, 24, DOWNTIME_START, registrations=0, strikes=0.1, corrections=0.1)
    struck = [e.corrects for e in entries if e.kind is Kind.STRIKE]
    corrections = [e for e in entries if e.corrects and e.kind is not Kind.STRIKE]
    assert struck and corrections
    site = make_site(tmp_path, entries=entries)
    try:
        site.run()
        idents = {
            "Observation": [
                str(entry_identifier(i or "", "8867-4")["value"])
                for i in [*struck, *(c.corrects for c in corrections)]
            ]
        }
        assert sum(copies_at_ehr(site.base, idents).values()) == 0
        fixed = {
            "Observation": [str(entry_identifier(c.id, "8867-4")["value"]) for c in corrections]
        }
        assert set(copies_at_ehr(site.base, fixed).values()) == {1}
        assert site.plan().left_out["struck"] == len(struck)
        assert state.get(site.replica, struck[0] or "") is None  # never even enrolled
    finally:
        site.close()


def test_a_downtime_registration_waits_for_the_registrar(site: Site) -> None:
    first, second, *others = site.registrations()
    site.run(decisions={})
    held = state.list_by_status(site.replica, "held")
    assert {b.patient_key for b in held} == {first, second, *others} and others
    ident = str(entry_identifier(first)["value"])
    assert sum(copies_at_ehr(site.base, {"Patient": [ident]}).values()) == 0
    # the registrar: the first is new; the second is a patient the EHR has (bp1)
    site.run(decisions={first: None, second: "bp1"})
    assert sum(copies_at_ehr(site.base, {"Patient": [ident]}).values()) == 1
    second_ident = str(entry_identifier(second)["value"])
    assert sum(copies_at_ehr(site.base, {"Patient": [second_ident]}).values()) == 0
    vitals = next(e for e in site.entries if e.patient_id == second and e.kind is Kind.VITALS)
    got = state.get(site.replica, vitals.id)
    assert got is not None and got.status is Status.CONFIRMED
    obs = httpx.get(f"{site.base}/{got.written[0].reference}").json()
    assert obs["subject"]["reference"] == "Patient/bp1"
    still = {b.patient_key for b in state.list_by_status(site.replica, "held")}
    assert still == set(others)


def test_an_entry_the_ehr_refuses_is_rejected_with_its_operation_outcome(tmp_path: Path) -> None:
    import random

    from standby.bench.backentry_journal import _Writer
    from support.recovery_support import DOWNTIME_START

    w = _Writer(random.Random(1))
    bad = w.entry(Kind.TRANSFER, "bp0", "enc:0", DOWNTIME_START, {"location_id": "icu-1"})
    good = w.entry(Kind.VITALS, "bp0", "be0", DOWNTIME_START, {"heart_rate": 80})
    site = make_site(tmp_path, entries=[bad, good])
    try:
        # the replica holds an encounter whose id the EHR will not take in a URL
        site.replica.update(
            {
                "resourceType": "Encounter",
                "id": "enc:0",
                "status": "in-progress",
                "class": {"code": "IMP"},
                "subject": {"reference": "Patient/bp0"},
            }
        )
        site.run()
        got = state.get(site.replica, bad.id)
        assert got is not None and got.status is Status.REJECTED
        assert got.outcome is not None and got.outcome["resourceType"] == "OperationOutcome"
        ok = state.get(site.replica, good.id)
        assert ok is not None and ok.status is Status.CONFIRMED
    finally:
        site.close()


def test_a_patient_leased_by_another_runner_is_left_to_it(site: Site) -> None:
    from datetime import timedelta

    from standby import clock

    assert leases.claim(site.replica, "bp0", "another-runner", clock.now(), timedelta(minutes=5))
    result = site.run()
    assert result.busy_elsewhere == 1
    mine = [s.entry_id for s in site.plan().steps if s.patient_key == "bp0"]
    assert mine
    assert {state.get(site.replica, i).status for i in mine} == {Status.PENDING}  # type: ignore[union-attr]
    leases.release(site.replica, "bp0", "another-runner")
    assert site.run().busy_elsewhere == 0
    assert_exactly_once(site.base, site.plan())


def test_an_entry_struck_after_it_was_filed_is_reported_not_withdrawn(site: Site) -> None:
    from datetime import timedelta

    from standby.journal import repository
    from standby.journal.entries import make_entry

    site.run()
    filed = next(
        e
        for s in site.plan().steps
        for e in site.entries
        if e.id == s.entry_id and e.kind is Kind.VITALS
    )
    strike = make_entry(
        Kind.STRIKE,
        patient_id=filed.patient_id,
        encounter_id=filed.encounter_id,
        author="nurse1",
        author_name="Nurse 1, RN",
        role="nurse",
        node="n1",
        now=filed.recorded_at + timedelta(hours=1),
        payload={"reason": "wrong patient"},
        corrects=filed.id,
    )
    repository.append(site.replica, [strike])
    result = site.run()
    assert result.withdrawn_after_filing == [filed.id]
    got = state.get(site.replica, filed.id)
    assert got is not None and got.status is Status.CONFIRMED  # still in the EHR
    assert httpx.get(f"{site.base}/{got.written[0].reference}").status_code == 200


def test_the_registrars_decisions_are_what_a_run_files_by_and_then_cannot_change(
    site: Site,
) -> None:
    """The composition root's wiring: decisions made on the registrar's page
    (`matches.decide`) are the ones `standby recover run` files by, each frozen first; an
    undecided (e.g. ambiguous) registration is held, never sent."""
    from datetime import UTC, datetime

    from standby.cli.recover import decisions_frozen, decisions_of
    from standby.recovery import execute, matches

    first, second, *others = site.registrations()
    at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    matches.decide(
        site.replica,
        second,
        ehr_patient_id="bp1",
        by="reg",
        reason="same person: licence and birth date",
        now=at,
    )
    assert decisions_of(site.replica) == {second: "bp1"}
    # a plan is read only: the registrar may still change it
    matches.decide(
        site.replica,
        second,
        ehr_patient_id="bp1",
        by="reg",
        reason="checked again with the patient",
        now=at,
    )
    with site.client() as client:
        execute.run(site.replica, client, decisions_of=decisions_frozen, node="n1")
    vitals = next(e for e in site.entries if e.patient_id == second and e.kind is Kind.VITALS)
    got = state.get(site.replica, vitals.id)
    assert got is not None and got.status is Status.CONFIRMED
    obs = httpx.get(f"{site.base}/{got.written[0].reference}").json()
    assert obs["subject"]["reference"] == "Patient/bp1"
    held = {b.patient_key for b in state.list_by_status(site.replica, "held")}
    assert held == {first, *others}
    ident = str(entry_identifier(first)["value"])
    assert sum(copies_at_ehr(site.base, {"Patient": [ident]}).values()) == 0
    with pytest.raises(matches.DecisionError):
        matches.decide(
            site.replica,
            second,
            ehr_patient_id=None,
            by="reg",
            reason="a different person after all",
            now=at,
        )


def test_a_patient_registered_during_the_downtime_can_be_moved_and_discharged(
    tmp_path: Path,
) -> None:
    """A transfer and a discharge of a patient registered during the downtime build on the
    encounter the registration files (If-Match on what it wrote), as after an admission;
    they are not left out as an encounter "not filed by this plan"."""
    from datetime import timedelta

    from standby.bench import backentry_journal as bj
    from standby.journal.entries import make_entry
    from support.recovery_support import DOWNTIME_START

    made = bj.journal(3, 4, DOWNTIME_START, registrations=1)
    reg = next(e for e in made if e.kind is Kind.REGISTRATION)
    later = reg.performed_at + timedelta(hours=1)

    def adt(kind: Kind, payload: dict[str, str], minutes: int) -> Any:
        return make_entry(
            kind,
            patient_id=reg.id,
            author="n1",
            author_name="Nurse One, RN",
            role="nurse",
            node="n1",
            now=later + timedelta(minutes=minutes + 1),
            performed_at=later + timedelta(minutes=minutes),
            payload=payload,
        )

    moved = adt(Kind.TRANSFER, {"location_id": "bed-1"}, 0)
    gone = adt(Kind.DISCHARGE, {"disposition": "Home"}, 30)
    site = make_site(tmp_path, patients=3, entries=[*made, moved, gone])
    try:
        plan = site.plan()
        mine = [s for s in plan.steps if s.entry_id in (moved.id, gone.id)]
        assert len(mine) == 2 and [s.problem for s in mine] == [None, None]
        site.run()
        for e in (moved, gone):
            got = state.get(site.replica, e.id)
            assert got is not None and got.status is Status.CONFIRMED, got
        ident = str(entry_identifier(reg.id)["value"])
        assert sum(copies_at_ehr(site.base, {"Patient": [ident]}).values()) == 1
        enc_ref = state.get(site.replica, gone.id).written[0].reference  # type: ignore[union-attr]
        enc = httpx.get(f"{site.base}/{enc_ref}").json()
        assert enc["status"] == "finished"
    finally:
        site.close()
