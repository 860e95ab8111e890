"""Write-back of accepted rebookings against the simulated EHR over real HTTP: the
Appointment is updated once (a second run and a resend after a lost answer write nothing
more); an Appointment changed at the EHR since the proposal is a conflict in the review
queue, with the proposal beside what the EHR has now, and is not overwritten; `standby
schedule writeback` waits for the incident commander's end of the downtime."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from standby import clock
from standby.cli.main import app
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.recovery import appointments, review, state
from standby.recovery.state import Status
from standby.schedule import repository as repo
from support.recovery_support import Site, make_site

OLD_START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NEW_START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def _appointment(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": "appt-1",
        "status": "booked",
        "start": "2026-12-01T08:00:00Z",
        "end": "2026-12-01T09:30:00Z",
        "minutesDuration": 90,
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/surgeon-1"}, "status": "accepted"},
            {"actor": {"reference": "Location/or-1"}, "status": "accepted"},
        ],
    }


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    s = make_site(tmp_path, patients=2, hours=1, registrations=0)
    patient = next(s.replica.iter_type("Patient")).id
    for store in (s.ehr, s.replica):  # the replica holds the EHR's version 1
        for loc in ("or-1", "or-2"):
            store.update({"resourceType": "Location", "id": loc, "name": loc.upper()})
        store.update(_appointment(patient))
    monkeypatch.setenv("STANDBY_SOURCE_URL", s.base)
    monkeypatch.setenv("STANDBY_RECOVERY_RATE", "0")
    try:
        yield s
    finally:
        s.close()


def _accept(site: Site) -> repo.AcceptedPlacement:
    patient = next(site.replica.iter_type("Patient")).id
    version = site.replica.read("Appointment", "appt-1")
    assert version is not None
    repo.accept(
        site.replica,
        [
            repo.AcceptedPlacement(
                "proposal-1",
                "appt-1",
                patient,
                "or-2",
                "surgeon-1",
                NEW_START,
                NEW_START + timedelta(minutes=90),
                version.version_id,
            )
        ],
        "scheduler",
        clock.now(),
    )
    (a,) = repo.to_write_back(site.replica)
    return a


def _write_back(site: Site) -> appointments.WriteBackResult:
    with site.client() as client:
        return appointments.write_back(
            site.replica,
            client,
            repo.to_write_back(site.replica),
            node="n1",
            on_confirmed=lambda r: repo.mark_written_back(site.replica, r.seq, clock.now()),
        )


def _ehr(site: Site) -> dict[str, Any]:
    got = site.ehr.read("Appointment", "appt-1")
    assert got is not None
    return got.json()


def test_an_accepted_placement_updates_the_appointment_once(site: Site) -> None:
    a = _accept(site)
    assert a.base_version == "1"
    first = _write_back(site)
    assert first.confirmed == [a.key] and first.sent == 1 and not first.conflict
    got = _ehr(site)
    assert got["start"] == "2026-12-03T13:00:00Z" and got["end"] == "2026-12-03T14:30:00Z"
    refs = [p["actor"]["reference"] for p in got["participant"]]
    assert "Location/or-2" in refs and "Location/or-1" not in refs
    assert "Practitioner/surgeon-1" in refs and len(refs) == 3
    assert len(site.ehr.history("Appointment", "appt-1")) == 2  # one write
    b = state.get(site.replica, a.key)
    assert b is not None and b.status is Status.CONFIRMED and b.kind == appointments.KIND
    assert b.written[0].reference == "Appointment/appt-1" and b.written[0].version_id == "2"
    assert repo.accepted(site.replica)[0].written_back_at is not None
    # run again: nothing left to send, nothing written
    assert repo.to_write_back(site.replica) == []
    again = _write_back(site)
    assert again.sent == 0 and not again.confirmed
    # even handed the placement again, the confirmed item is not sent
    with site.client() as client:
        third = appointments.write_back(site.replica, client, [a], node="n1")
    assert third.sent == 0
    assert len(site.ehr.history("Appointment", "appt-1")) == 2


def test_a_resend_after_a_lost_answer_writes_nothing_more(site: Site) -> None:
    a = _accept(site)
    r = appointments.from_accepted(a)
    # a runner sent it, the EHR applied it, the answer never came back (the runner died)
    state.enroll(
        site.replica,
        [state.Enrolment(a.key, appointments.KIND, a.patient_id, clock.now())],
        clock.now(),
        "n0",
    )
    assert state.mark_sent(site.replica, a.key, clock.now(), "n0")
    with site.client() as client:
        sent = client.request(
            "PUT",
            "Appointment/appt-1",
            content=orjson.dumps(appointments.updated(_ehr(site), r)),
            headers={"Content-Type": "application/fhir+json", "If-Match": 'W/"1"'},
        )
    assert sent.status_code == 200
    result = _write_back(site)
    assert result.confirmed == [a.key] and result.sent == 0
    assert len(site.ehr.history("Appointment", "appt-1")) == 2
    b = state.get(site.replica, a.key)
    assert b is not None and b.status is Status.CONFIRMED and b.attempts == 1


def test_an_appointment_changed_at_the_ehr_is_a_conflict_and_not_overwritten(
    site: Site,
) -> None:
    a = _accept(site)
    changed = _ehr(site)
    changed["start"], changed["end"] = "2026-12-02T10:00:00Z", "2026-12-02T11:30:00Z"
    site.ehr.update(changed)  # a scheduler at the EHR moved it meanwhile
    result = _write_back(site)
    assert result.conflict == [a.key] and result.sent == 0 and not result.confirmed
    got = _ehr(site)
    assert got["start"] == "2026-12-02T10:00:00Z"
    assert len(site.ehr.history("Appointment", "appt-1")) == 2
    (queued,) = review.queue(site.replica, Status.CONFLICT)
    assert queued.entry_id == a.key and queued.patient_key == a.patient_id
    assert queued.outcome is not None
    assert queued.outcome["proposed"]["start"].startswith("2026-12-03T13:00")
    assert queued.outcome["proposed"]["location"] == "Location/or-2"
    assert queued.outcome["ehrNow"]["start"] == "2026-12-02T10:00:00Z"
    assert queued.outcome["ehrNow"]["versionId"] == "2"
    assert repo.accepted(site.replica)[0].written_back_at is None
    # a later run leaves the conflict to a person
    assert _write_back(site).sent == 0
    assert len(site.ehr.history("Appointment", "appt-1")) == 2


def test_a_stale_version_is_refused_by_the_ehr_with_412_and_kept_as_conflict(
    site: Site,
) -> None:
    """The version check before sending passes, but the EHR moved on in between: the
    If-Match is what protects the EHR's copy."""
    a = _accept(site)
    r = appointments.from_accepted(a)
    other = _ehr(site)
    other["status"] = "cancelled"
    with site.client() as client:
        writer = appointments.AppointmentWriter(site.replica, client, node="n1")
        real = writer._request

        def racing(method: str, path: str, **kw: Any) -> Any:
            if method == "PUT":
                site.ehr.update(other)  # lands between our read and our update
            return real(method, path, **kw)

        writer._request = racing  # type: ignore[method-assign]
        result = writer.run([r])
    assert result.conflict == [a.key] and result.sent == 1
    got = _ehr(site)
    assert got["status"] == "cancelled" and got["start"] == "2026-12-01T08:00:00Z"
    b = state.get(site.replica, a.key)
    assert b is not None and b.status is Status.CONFLICT
    assert b.outcome is not None and b.outcome["answer"]["resourceType"] == "OperationOutcome"


def test_writeback_waits_for_the_end_of_the_downtime(site: Site) -> None:
    a = _accept(site)
    db = ["--db", str(site.tmp / "replica.db")]
    r = CliRunner().invoke(app, ["schedule", "writeback", *db])
    assert r.exit_code == 2 and "no downtime has been ended" in r.output
    cfg = MonitorConfig()
    downtime.declare(site.replica, cfg, "ic", clock.now(), reason="test")
    r = CliRunner().invoke(app, ["schedule", "writeback", *db])
    assert r.exit_code == 2 and "the downtime is not over" in r.output
    assert len(site.ehr.history("Appointment", "appt-1")) == 1  # nothing sent
    assert state.get(site.replica, a.key) is None
    downtime.confirm_end(site.replica, cfg, "ic", clock.now())
    r = CliRunner().invoke(app, ["schedule", "writeback", *db, "--json"])
    assert r.exit_code == 0, r.output
    got = orjson.loads(r.output.splitlines()[-1])
    assert got["confirmed"] == 1 and got["sent"] == 1
    r = CliRunner().invoke(app, ["schedule", "writeback", *db, "--json"])
    assert orjson.loads(r.output.splitlines()[-1])["sent"] == 0
    assert len(site.ehr.history("Appointment", "appt-1")) == 2
