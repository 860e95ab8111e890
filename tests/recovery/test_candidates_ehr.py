"""Candidates of each downtime registration from the simulated EHR over HTTP (its
Patients created there with POST) and from the replica: exact, ambiguous, accented, none."""

from __future__ import annotations

from pathlib import Path

from standby.recovery import candidates, matching
from standby.store import open_store
from standby.sync.http import FhirClient, RetryPolicy
from support.recovery_ehr import copy_to_replica, register, simulated_ehr


def test_each_registration_finds_its_candidates_in_the_ehr(tmp_path: Path) -> None:
    replica = open_store(db=tmp_path / "replica.db")
    with simulated_ehr(tmp_path) as (url, ids, ehr), FhirClient(url, rate=0) as client:
        copy_to_replica(ehr, replica, ["smith-1"], ids)
        register(replica)
        regs = {r.entry.payload["family"]: r for r in candidates.registrations(replica)}
        assert set(regs) == {"Okafor", "Smith", "MUNOZ", "Quillfeather"}

        okafor = candidates.find(replica, regs["Okafor"].person, client)
        assert okafor.ehr_searched and not okafor.ehr_problem
        assert okafor.assessment.suggested == ids["okafor"]
        best = okafor.assessment.candidates[0]
        assert best.score.level == matching.EXACT and best.source == "EHR"
        assert any(r.field == "identifier" and r.points == 50 for r in best.score.reasons)
        assert any(r.field == "phone" for r in best.score.reasons)

        smith = candidates.find(replica, regs["Smith"].person, client)
        assert smith.assessment.ambiguous and smith.assessment.suggested is None
        sources = {c.patient_id: c.source for c in smith.assessment.candidates}
        assert sources == {ids["smith-1"]: "EHR and replica", ids["smith-2"]: "EHR"}

        munoz = candidates.find(replica, regs["MUNOZ"].person, client)
        assert [c.patient_id for c in munoz.assessment.candidates] == [ids["munoz"]]
        assert munoz.assessment.suggested == ids["munoz"]

        new = candidates.find(replica, regs["Quillfeather"].person, client)
        assert new.assessment.candidates == () and "new patient" in new.assessment.note
    replica.close()


def test_an_unreachable_ehr_is_said_and_the_replica_still_answers(tmp_path: Path) -> None:
    replica = open_store(db=tmp_path / "replica.db")
    with simulated_ehr(tmp_path) as (_url, ids, ehr):
        copy_to_replica(ehr, replica, ["smith-1"], ids)
    register(replica)
    smith = next(r for r in candidates.registrations(replica) if r.person.names[0][0] == "Smith")
    dead = FhirClient("http://127.0.0.1:9", rate=0, timeout=2, policy=RetryPolicy(max_attempts=1))
    with dead:
        found = candidates.find(replica, smith.person, dead)
    assert not found.ehr_searched and "did not answer" in found.ehr_problem
    assert [c.patient_id for c in found.assessment.candidates] == [ids["smith-1"]]
    replica.close()
