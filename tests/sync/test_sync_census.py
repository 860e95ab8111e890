"""The census planner: data in, a list of searches out (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standby.sync.census import (
    CensusConfig,
    CensusEntry,
    census_from,
    census_queries,
    plan_round,
    plan_type_round,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CFG = CensusConfig(
    source="ehr",
    patient_types=("Patient", "Observation"),
    shared_types=("Location",),
    patients_per_search=2,
    overlap_seconds=60,
    keep_hours=24,
)


def enc(pid, cls="IMP", status="in-progress"):
    return {
        "resourceType": "Encounter",
        "id": f"e-{pid}",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
        "subject": {"reference": f"Patient/{pid}"},
    }


def appt(pid, start, surgical=False, status="booked"):
    a = {
        "resourceType": "Appointment",
        "id": f"a-{pid}",
        "status": status,
        "start": start.isoformat().replace("+00:00", "Z"),
        "participant": [{"actor": {"reference": f"Patient/{pid}"}}],
    }
    if surgical:
        a["serviceCategory"] = [{"coding": [{"code": "387713003"}]}]
    return a


def test_census_from_encounters_and_appointments():
    got = census_from(
        [
            enc("a"),
            enc("b", cls="EMER"),
            enc("c", cls="AMB"),  # clinic visit in progress: not on the census
            enc("d", status="finished"),  # discharged since the last round: kept
            appt("e", NOW + timedelta(hours=20), surgical=True),
            appt("f", NOW + timedelta(days=1)),
            appt("g", NOW + timedelta(days=5)),  # beyond the horizon
            appt("h", NOW + timedelta(hours=2), status="cancelled"),
        ],
        NOW,
        horizon_days=2,
    )
    assert got == [
        CensusEntry("a", "inpatient"),
        CensusEntry("b", "ed"),
        CensusEntry("d", "discharged"),
        CensusEntry("e", "surgery"),
        CensusEntry("f", "appointment"),
    ]


def test_census_queries_ask_for_encounters_in_progress_and_appointments_soon():
    enc_q, appt_q = census_queries(CFG, NOW)
    assert ("status", "in-progress") in enc_q.params
    dates = [v for k, v in appt_q.params if k == "date"]
    assert dates[0].startswith("ge2026-11-28T00:00") and dates[1].startswith("le2026-11-30T12:00")


def test_new_patients_get_a_full_pull_and_pulled_ones_an_incremental_search():
    census = [CensusEntry("new1", "inpatient"), CensusEntry("old1", "inpatient")]
    known = {"old1": (NOW - timedelta(minutes=1), True)}
    hwms = {"sync:ehr:census:Observation": "2026-11-28T11:59:00.000Z"}
    plan = plan_round(CFG, census, known, hwms, NOW)
    assert plan.new_patients == ["new1"]
    pulls = [r for r in plan.requests if r.stream.startswith("pull:")]
    assert {r.resource_type for r in pulls} == {"Patient", "Observation"}
    assert all(r.full and not any(k == "_lastUpdated" for k, _ in r.params) for r in pulls)
    (obs,) = [r for r in plan.requests if r.stream == "sync:ehr:census:Observation"]
    assert ("patient", "Patient/old1") in obs.params
    assert ("_lastUpdated", "gt2026-11-28T11:58:00.000Z") in obs.params  # hwm − overlap
    (pat,) = [r for r in plan.requests if r.stream == "sync:ehr:census:Patient"]
    assert ("_id", "old1") in pat.params and pat.full  # no mark yet: everything
    (loc,) = [r for r in plan.requests if r.resource_type == "Location"]
    assert loc.stream == "sync:ehr:type:Location"


def test_patients_leaving_the_census_are_kept_then_dropped():
    known = {
        "left-recently": (NOW - timedelta(hours=2), True),
        "left-long-ago": (NOW - timedelta(hours=30), True),
    }
    plan = plan_round(CFG, [], known, {}, NOW)
    assert plan.dropped_patients == ["left-long-ago"]
    ids = {v for r in plan.requests for k, v in r.params if k in ("patient", "_id")}
    assert ids == {"left-recently", "Patient/left-recently"}


def test_patients_are_searched_in_chunks():
    census = [CensusEntry(p, "inpatient") for p in ("a", "b", "c")]
    known = {p: (NOW, True) for p in ("a", "b", "c")}
    plan = plan_round(CFG, census, known, {}, NOW)
    obs = [dict(r.params)["patient"] for r in plan.requests if r.resource_type == "Observation"]
    assert obs == ["Patient/a,Patient/b", "Patient/c"]


def test_type_mode_plans_one_search_per_type():
    reqs = plan_type_round(CFG, ["Observation", "Patient"], {"sync:ehr:type:Patient": None})
    assert [r.resource_type for r in reqs] == ["Observation", "Patient"]
    assert all(r.full for r in reqs)  # no mark yet: everything


def test_patients_discharged_between_rounds_are_still_on_the_census():
    queries = census_queries(CFG, NOW, "2026-11-28T11:59:00.000Z")
    finished = [q for q in queries if ("status", "finished") in q.params]
    assert finished and ("_lastUpdated", "gt2026-11-28T11:58:00.000Z") in finished[0].params
    assert census_from([enc("z", status="finished")], NOW, 2) == [CensusEntry("z", "discharged")]
    assert census_from([enc("y", cls="AMB", status="finished")], NOW, 2) == []
