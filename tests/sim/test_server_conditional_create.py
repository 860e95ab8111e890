"""What back-entry relies on in the simulated EHR: a conditional create is atomic (many at
once with the same If-None-Exist make one resource), a transaction sent again refers to
what the first one created, and the `no-transaction` strict mode."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import httpx
import pytest

from standby.sim.server import Strictness, run_in_thread
from support.sim_server_support import small_store

SYSTEM = "urn:ietf:rfc:3986"


def _obs(ident: str, patient: str = "Patient/p1") -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": SYSTEM, "value": ident}],
        "status": "final",
        "code": {"text": "heart rate"},
        "subject": {"reference": patient},
    }


def _count(base: str, rtype: str, ident: str) -> int:
    r = httpx.get(f"{base}/{rtype}", params={"identifier": f"{SYSTEM}|{ident}", "_count": "50"})
    return len(r.json().get("entry") or [])


@pytest.mark.slow
def test_simultaneous_conditional_creates_make_one_resource(tmp_path: Path) -> None:
    base, handle = run_in_thread(small_store(tmp_path, patients=2), change_rate=0)
    try:
        idents = [f"urn:uuid:{uuid.uuid4()}" for _ in range(40)]
        barrier = threading.Barrier(8)
        statuses: list[int] = []
        lock = threading.Lock()

        def sender() -> None:
            with httpx.Client(timeout=30) as c:
                barrier.wait()
                for ident in idents:
                    r = c.post(
                        f"{base}/Observation",
                        json=_obs(ident),
                        headers={"If-None-Exist": f"identifier={SYSTEM}|{ident}"},
                    )
                    with lock:
                        statuses.append(r.status_code)

        threads = [threading.Thread(target=sender) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(set(statuses)) == [200, 201]
        assert statuses.count(201) == len(idents)
        assert [_count(base, "Observation", i) for i in idents] == [1] * len(idents)
    finally:
        handle.stop()


def _registration_bundle(patient_ident: str, obs_ident: str) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_ident,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": SYSTEM, "value": patient_ident}],
                    "name": [{"family": "Doe"}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={SYSTEM}|{patient_ident}",
                },
            },
            {
                "fullUrl": obs_ident,
                "resource": _obs(obs_ident, patient=patient_ident),
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": f"identifier={SYSTEM}|{obs_ident}",
                },
            },
        ],
    }


def test_a_transaction_sent_again_refers_to_what_the_first_created(tmp_path: Path) -> None:
    base, handle = run_in_thread(small_store(tmp_path, patients=1), change_rate=0)
    try:
        patient, obs = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
        first = httpx.post(base, json=_registration_bundle(patient, obs))
        assert first.status_code == 200
        patient_id = first.json()["entry"][0]["response"]["location"].split("/")[1]
        # the first answer was "lost": the same transaction with a new observation
        obs2 = f"urn:uuid:{uuid.uuid4()}"
        again = httpx.post(base, json=_registration_bundle(patient, obs2))
        assert again.status_code == 200
        assert again.json()["entry"][0]["response"]["status"].startswith("200")
        assert _count(base, "Patient", patient) == 1
        found = httpx.get(f"{base}/Observation", params={"identifier": f"{SYSTEM}|{obs2}"}).json()[
            "entry"
        ][0]["resource"]
        assert found["subject"]["reference"] == f"Patient/{patient_id}"
    finally:
        handle.stop()


def test_no_transaction_mode(tmp_path: Path) -> None:
    strict = Strictness.parse("no-transaction")
    base, handle = run_in_thread(small_store(tmp_path, patients=1), change_rate=0, strict=strict)
    try:
        codes = [i["code"] for i in httpx.get(f"{base}/metadata").json()["rest"][0]["interaction"]]
        assert "transaction" not in codes and "batch" in codes
        ident = f"urn:uuid:{uuid.uuid4()}"
        r = httpx.post(base, json=_registration_bundle(ident, f"urn:uuid:{uuid.uuid4()}"))
        assert r.status_code == 404
        assert r.json()["issue"][0]["code"] == "not-supported"
        assert _count(base, "Patient", ident) == 0
        batch = {"resourceType": "Bundle", "type": "batch", "entry": []}
        assert httpx.post(base, json=batch).status_code == 200
    finally:
        handle.stop()
