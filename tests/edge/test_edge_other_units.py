"""An edge node of 3W holds 3W's patients and no one else's: the census searches it reads
to find them (every Encounter in progress, every Appointment soon, hospital-wide) used to
be written to its replica whole, so a unit PC carried the Encounters and Appointments of
patients all over the hospital."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from standby.api import smart
from standby.clock import instant
from standby.fhir.search_params import patient_compartment
from standby.settings import Settings, load_settings
from standby.store import open_store
from standby.sync.jwks import generate_private_key, jwks, write_private_key
from standby.sync.runner import SyncRunner
from standby.web.app import create_app
from support.fhir_api import resource
from support.web_server import served

_now = datetime.now(UTC).replace(microsecond=0)
META = {"versionId": "1", "lastUpdated": instant(_now - timedelta(days=1))}
SOON = instant(_now + timedelta(hours=3))


def _hospital(store) -> None:  # type: ignore[no-untyped-def]
    def loc(lid: str, alias: str, parent: str | None = None) -> bytes:
        more = {"partOf": {"reference": f"Location/{parent}"}} if parent else {}
        return resource("Location", lid, meta=META, name=alias, alias=[alias], **more)

    def enc(eid: str, pid: str, lid: str) -> bytes:
        return resource(
            "Encounter", eid, meta=META, status="in-progress", **{"class": {"code": "IMP"}},
            subject={"reference": f"Patient/{pid}"},
            location=[{"location": {"reference": f"Location/{lid}"}}],
            period={"start": "2026-11-28T08:00:00Z"}, reasonCode=[{"text": f"reason of {pid}"}],
        )  # fmt: skip

    store.upsert_many(
        [
            loc("loc-3w", "3W"),
            loc("bed-3w-1", "301-A", "loc-3w"),
            loc("loc-4e", "4E"),
            resource("Patient", "on-3w", meta=META, name=[{"family": "Here"}]),
            resource("Patient", "on-4e", meta=META, name=[{"family": "Elsewhere"}]),
            resource("Patient", "clinic", meta=META, name=[{"family": "Outpatient"}]),
            enc("enc-3w", "on-3w", "bed-3w-1"),
            enc("enc-4e", "on-4e", "loc-4e"),
            resource(
                "Appointment", "appt-clinic", meta=META, status="booked",
                start=SOON, end=SOON,
                description="oncology follow-up",
                participant=[{"actor": {"reference": "Patient/clinic"}, "status": "accepted"}],
            ),
        ]
    )  # fmt: skip


def test_an_edge_node_keeps_no_census_answer_of_another_unit(tmp_path: Path) -> None:
    central_db = tmp_path / "central.db"
    central = open_store(db=central_db)
    _hospital(central)
    key = generate_private_key("ES384")
    write_private_key(key, tmp_path / "edge.pem")
    client = smart.add_client(central, name="edge-3w", jwks=jwks(key), scope="system/*.read")
    cs = Settings(db=central_db, db_encryption="off")
    edge = open_store(db=tmp_path / "edge.db")
    try:
        with served(cs, create_app(cs, central)) as url:
            es = load_settings(
                db=tmp_path / "edge.db", db_encryption="off", source_url=f"{url}/fhir",
                auth="smart-backend", client_id=client.client_id,
                private_key=tmp_path / "edge.pem", sync_units=["3W"],
            )  # fmt: skip
            runner = SyncRunner(es, edge)
            try:
                runner.check_auth()
                runner.seed()
                assert runner.run_round().ok
                assert runner.run_round().ok
            finally:
                runner.close()
        held = {
            (rtype, sr.id): patient_compartment(sr.json())
            for rtype in edge.counts_by_type()
            for sr in edge.iter_type(rtype)
        }
        assert ("Encounter", "enc-3w") in held and ("Patient", "on-3w") in held
        others = {k: p for k, p in held.items() if p is not None and p != "on-3w"}
        assert others == {}, others
    finally:
        edge.close()
        central.close()
