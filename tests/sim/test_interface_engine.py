"""The simulated EHR's interface-engine mode: its changes as HL7 v2 that Standby's feed maps
onto the very resources FHIR sync brought (one Encounter, the synced order), sent over real
MLLP with retries, and lab results going on during the EHR's simulated outage."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.hl7.listener import Listener
from standby.sim.engine import InterfaceEngine
from standby.sim.engine import messages as m
from standby.sim.generate import generate_hospital
from standby.sim.server.faults import Faults
from standby.store.ingest import ingest_directory
from standby.store.memory import MemoryStore
from standby.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
FEED_TAG = "https://standby.example.org/fhir/CodeSystem/data-source"


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("engine")
    generate_hospital(12, 5, out, now=NOW)
    return out


@pytest.fixture
def ehr(hospital: Path) -> MemoryStore:
    store = MemoryStore()
    ingest_directory(store, hospital)
    return store


@pytest.fixture(scope="module")
def seeded(hospital: Path) -> Path:
    """A replica seeded with what FHIR sync brings: the EHR's resources under its ids."""
    path = hospital / "seeded.db"
    store = SQLiteStore(path)
    ingest_directory(store, hospital)
    store.close()
    return path


@pytest.fixture
def replica(seeded: Path, tmp_path: Path) -> Iterator[SQLiteStore]:
    shutil.copy(seeded, tmp_path / "replica.db")
    store = SQLiteStore(tmp_path / "replica.db")
    yield store
    store.close()


def _inpatient_encounter(ehr: MemoryStore) -> dict[str, Any]:
    return next(
        e
        for e in (sr.json() for sr in ehr.iter_type("Encounter"))
        if e["status"] == "in-progress" and e.get("location")
    )


def _feed_tagged(res: dict[str, Any]) -> bool:
    return any(t.get("system") == FEED_TAG for t in res.get("meta", {}).get("tag", []))


def test_an_encounter_by_feed_and_by_fhir_sync_is_stored_once(
    ehr: MemoryStore, replica: SQLiteStore
) -> None:
    enc = _inpatient_encounter(ehr)
    before = replica.counts_by_type()["Encounter"]
    engine = InterfaceEngine(ehr, "127.0.0.1", 9)
    (msg,) = engine.messages_for(enc, NOW)
    assert msg.kind == "ADT"
    (outcome,) = FeedWriter(replica, Context()).commit([(msg.data, "mllp://engine")])
    assert outcome.ack_code == "AA", outcome.reason
    assert replica.counts_by_type()["Encounter"] == before  # the synced one, not a second
    stored = replica.read("Encounter", enc["id"])
    assert stored is not None and _feed_tagged(stored.json())
    assert stored.json()["subject"]["reference"] == enc["subject"]["reference"]


def test_administrations_by_feed_name_the_synced_order_and_results_keep_their_values(
    ehr: MemoryStore, replica: SQLiteStore
) -> None:
    engine = InterfaceEngine(ehr, "127.0.0.1", 9)
    admin = next(
        a
        for a in (sr.json() for sr in ehr.iter_type("MedicationAdministration"))
        if a.get("status") == "completed" and a.get("request")
    )
    # a dose the replica does not hold yet (one it holds from the EHR, same order and time,
    # the feed does not write again: tests/hl7/test_hl7_precedence.py)
    admin = {k: v for k, v in admin.items() if k != "effectivePeriod"}
    admin["effectiveDateTime"] = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    enc = _inpatient_encounter(ehr)
    lab = ehr.search("Observation", [("category", "laboratory")], count=1).resources[0].json()
    lab = {**lab, "valueQuantity": {"value": 6.9, "unit": "mmol/L", "code": "mmol/L"}}
    lab["interpretation"] = [{"coding": [{"code": "HH"}]}]
    lab["subject"] = enc["subject"]
    msgs = engine.messages_for(admin, NOW) + engine.messages_for(lab, NOW)
    assert [x.kind for x in msgs] == ["RAS", "ORU"]
    outcomes = FeedWriter(replica, Context()).commit([(x.data, "mllp://engine") for x in msgs])
    assert [o.ack_code for o in outcomes] == ["AA", "AA"], [o.reason for o in outcomes]
    given = [
        a
        for a in (sr.json() for sr in replica.iter_type("MedicationAdministration"))
        if _feed_tagged(a)
    ]
    assert [a["request"]["reference"] for a in given] == [admin["request"]["reference"]]
    fed = [o for o in (sr.json() for sr in replica.iter_type("Observation")) if _feed_tagged(o)]
    assert [
        (o["valueQuantity"]["value"], o["interpretation"][0]["coding"][0]["code"]) for o in fed
    ] == [(6.9, "HH")]


def test_escaped_text_comes_back_as_the_ehr_holds_it() -> None:
    assert m.escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    assert m.bed_pl("loc-3w-301-a") == "3W^301^A"


class ListenerThread:
    """A real MLLP listener over `store` in a thread of its own, on a fixed port."""

    def __init__(self, store: SQLiteStore, port: int = 0) -> None:
        self.store, self.port = store, port
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        listener = Listener(FeedWriter(self.store, Context()))
        server = await listener.start("127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        await self._stop.wait()
        server.close()
        await listener.stop()

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)


def _wait(cond: Any, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, f"waited {limit:.0f} s for {what}"
        time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lab_results_go_on_in_an_outage_and_what_was_not_acked_is_sent_again(
    ehr: MemoryStore, replica: SQLiteStore
) -> None:
    faults = Faults()
    port = _free_port()
    engine = InterfaceEngine(ehr, "127.0.0.1", port, faults=faults, retry_delay=0.05)
    engine.start()
    listener: ListenerThread | None = None
    try:
        enc = _inpatient_encounter(ehr)
        lab = ehr.search("Observation", [("category", "laboratory")], count=1).resources[0].json()
        lab = {**lab, "id": "obs-engine-1", "subject": enc["subject"], "encounter": None}
        lab["valueQuantity"] = {"value": 6.8, "unit": "mmol/L", "code": "mmol/L"}
        # no listener yet: the messages wait and are sent again until ACKed
        engine.offer([lab], NOW)
        time.sleep(0.3)
        assert engine.acked["AA"] == 0 and engine.pending == 1
        faults.set(outage=True)
        engine.offer([enc], NOW + timedelta(minutes=1))  # the EHR's own ADT waits
        listener = ListenerThread(replica, port)
        _wait(lambda: engine.acked["AA"] == 1, "the lab's result to be ACKed")
        assert engine.pending == 1 and engine._outbox[0].kind == "ADT"
        assert replica.read("Observation", "obs-engine-1") is None  # the feed's own id
        fed = [o for o in (sr.json() for sr in replica.iter_type("Observation")) if _feed_tagged(o)]
        assert [o["valueQuantity"]["value"] for o in fed] == [6.8]
        faults.set(outage=False)
        _wait(lambda: engine.acked["AA"] == 2, "the held ADT to be sent after the outage")
        assert engine.pending == 0
        stored = replica.read("Encounter", enc["id"])
        assert stored is not None and _feed_tagged(stored.json())
    finally:
        engine.stop()
        if listener is not None:
            listener.stop()
