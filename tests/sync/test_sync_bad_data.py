"""Bad data from the source is quarantined with reasons; the rest is ingested:
malformed NDJSON lines, a type not matching its file, a 20 MB
resource, references to resources that don't exist. A crafted bulk export over a real
socket."""

from __future__ import annotations

import orjson

from standby.settings import load_settings
from standby.store import open_store
from standby.sync.runner import SyncRunner
from support.sync_crafted_ehr import CraftedEhr, serve


def line(r: dict) -> bytes:
    return orjson.dumps(r) + b"\n"


def patient(i: int) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-28T10:00:00.000Z"},
        "name": [{"family": f"Test{i}"}],
    }


def obs(i: int, subject: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "meta": {"versionId": "3", "lastUpdated": "2026-11-28T10:00:00.000Z"},
        "status": "final",
        "code": {"text": "Heart rate"},
        "subject": {"reference": subject},
    }


def test_bad_lines_are_quarantined_and_the_rest_ingested(tmp_path):
    big = {**patient(99), "text": {"div": "x" * (20 * 1024 * 1024)}}
    patients = (
        line(patient(1))
        + b'{"resourceType": "Patient", "id": "broken", \n'  # malformed JSON
        + line(obs(5, "Patient/p1"))  # an Observation in the Patient file
        + line(big)  # 20 MB
        + b"[1, 2, 3]\n"
        + line(patient(2))
    )
    observations = line(obs(1, "Patient/p1")) + line(obs(2, "Patient/nobody"))
    errors = line(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "processing", "diagnostics": "export hiccup"}],
        }
    )
    deleted = line(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "Patient/p2"}}],
        }
    )
    ehr = CraftedEhr(
        {
            "Patient.ndjson": ("Patient", patients),
            "Observation.ndjson": ("Observation", observations),
        },
        errors=errors,
        deleted=deleted,
    )
    with serve(ehr) as base:
        settings = load_settings(
            source_url=base,
            db=tmp_path / "r.db",
            sync_seed_mode="bulk",
            max_resource_bytes=16 * 1024 * 1024,
        )
        store = open_store(db=settings.db)
        runner = SyncRunner(settings, store)
        seeded = runner.seed()
        runner.close()
    assert seeded is not None
    assert store.read("Patient", "p1") is not None
    assert store.read("Observation", "o1") is not None
    # a reference to a patient the source did not send: stored, not hidden
    assert store.read("Observation", "o2") is not None
    assert store.read("Patient", "p2").deleted  # from the manifest's deleted list
    assert store.read("Observation", "o5") is None
    reasons = {(q.line, q.reason) for q in store.quarantined(limit=100)}
    text = " | ".join(r for _, r in reasons)
    assert any(ln == 2 and "malformed JSON" in r for ln, r in reasons), text
    assert any(
        ln == 3 and "resourceType Observation in a file of Patient" in r for ln, r in reasons
    )
    assert any(ln == 4 and "larger than the limit" in r for ln, r in reasons), text
    assert any(ln == 5 and "not a JSON object" in r for ln, r in reasons), text
    assert ehr.deletes == 1  # the export was deleted when done
    assert store.get_checkpoint("sync:ehr:bulk:since") == "2026-11-28T12:00:00.000Z"
    from standby.sync.status import sync_health

    assert sync_health(store).errors_last_hour >= 1  # the error file was recorded
    store.close()
