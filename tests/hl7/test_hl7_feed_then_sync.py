"""A lab result that arrives by HL7 v2 feed and then the same result by FHIR sync is held
once, whichever way the sync brings it: an incremental round, or a bulk export seed (a new
node's first sync, a re-seed); and the feed's later messages about the patient go to the
EHR's resources (docs/hl7.md, "Which source wins")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from test_hl7_precedence import FILLER, ehr, feed, sync

from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.settings import load_settings
from standby.sim.generate.codes import MRN_SYSTEM
from standby.store import open_store
from standby.store.base import Store
from standby.sync.runner import SyncRunner
from support import hl7_messages as M
from support.sync_crafted_ehr import CraftedEhr, serve

# a second result for the same patient, later (10:15Z), filler order number F-6666
ORU_LATER = (
    M.ORU_R01.replace("|LAB00001|", "|LAB00002|")
    .replace("F-5555", "F-6666")
    .replace("ORD777", "ORD778")
    .replace("20261130091500-0500", "20261130101500-0500")
)


def reports(store: Store, filler: str) -> list[dict[str, Any]]:
    got = store.search("DiagnosticReport", [("identifier", f"{FILLER}|{filler}")])
    return [r.json() for r in got.resources]


def potassium(store: Store) -> list[dict[str, Any]]:
    obs = [r.json() for r in store.iter_type("Observation") if not r.deleted]
    return [o for o in obs if "Potassium" in orjson.dumps(o.get("code")).decode()]


def test_results_in_later_batches_follow_the_patient_fhir_sync_brought(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "r.db")
    try:
        writer = FeedWriter(store, Context())
        feed(writer, M.ADT_A01)  # each message its own commit, as a live feed has them
        feed(writer, M.ORU_R01)
        sync(store, ehr("2026-11-30T16:00:00Z", "1"))
        feed(writer, ORU_LATER)
        (later,) = reports(store, "F-6666")
        assert later["subject"]["reference"] == "Patient/ehr-pt"
        assert later["encounter"]["reference"] == "Encounter/ehr-enc"
        (first,) = reports(store, "F-5555")
        assert first["id"] == "ehr-dr"
    finally:
        store.close()


def test_the_same_result_by_feed_then_by_a_bulk_export_seed_is_held_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    store = open_store(db=db)
    try:
        writer = FeedWriter(store, Context(mrn_system=MRN_SYSTEM))
        feed(writer, M.ADT_A01)
        feed(writer, M.ORU_R01)
        assert len(reports(store, "F-5555")) == 1
        assert len(potassium(store)) == 1
        files: dict[str, tuple[str, bytes]] = {}
        for res in ehr("2026-11-30T16:00:00Z", "1"):
            name = f"{res['resourceType']}.ndjson"
            files[name] = (res["resourceType"], files.get(name, ("", b""))[1])
            files[name] = (res["resourceType"], files[name][1] + orjson.dumps(res) + b"\n")
        with serve(CraftedEhr(files)) as base:
            settings = load_settings(source_url=base, db=db, sync_seed_mode="bulk")
            runner = SyncRunner(settings, store)
            assert runner.seed() is not None
            runner.close()
        (report,) = reports(store, "F-5555")
        assert report["id"] == "ehr-dr"
        (k,) = potassium(store)
        assert k["id"] == "ehr-k"
        assert [
            p["id"] for p in (r.json() for r in store.iter_type("Patient") if not r.deleted)
        ] == ["ehr-pt"]
    finally:
        store.close()
