"""The census's placements are kept per store and read incrementally by journal seq
(`journal.adt.placements`): after any appends — admissions, transfers (and corrections of
them), discharges, registrations, strikes, drill entries, other kinds — they equal a
recomputation from every entry (`placements_recomputed`), on both engines."""

from __future__ import annotations

import random
import uuid
from typing import Any

from standby.journal import adt
from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind
from standby.journal.fhir_mapping import registration_encounter_id, registration_patient_id
from standby.store.base import Store
from support.journal_entries import PAYLOADS, entry

BEDS = ["4W-401-A", "4W-402-A", "ICU-1", "3W-301-B", "ED"]


def _random_entry(rng: random.Random, written: list[Entry]) -> Entry:
    pid = f"p{rng.randrange(6)}"
    drill = rng.random() < 0.15
    ago = rng.randrange(1, 600)
    roll = rng.random()
    if written and roll < 0.2:  # strike something written, often an ADT entry
        target = rng.choice(written)
        return entry(
            Kind.STRIKE, patient_id=target.patient_id, drill=target.drill, corrects=target.id
        )
    placed = [e for e in written if e.kind is Kind.TRANSFER]
    if placed and roll < 0.35:  # a correction of a transfer: another bed
        target = rng.choice(placed)
        return entry(
            Kind.TRANSFER,
            patient_id=target.patient_id,
            drill=target.drill,
            corrects=target.id,
            payload={"location_id": rng.choice(BEDS)},
        )
    if roll < 0.45:
        rid = str(uuid.uuid4())
        return entry(
            Kind.REGISTRATION,
            patient_id=registration_patient_id(rid),
            encounter_id=registration_encounter_id(rid),
            entry_id=rid,
            drill=drill,
            payload={**PAYLOADS[Kind.REGISTRATION], "location_id": rng.choice(BEDS)},
        )
    kind = rng.choice([Kind.ADMIT, Kind.TRANSFER, Kind.TRANSFER, Kind.DISCHARGE, Kind.VITALS])
    payload: dict[str, Any] = dict(PAYLOADS[kind])
    if kind in (Kind.ADMIT, Kind.TRANSFER):
        payload["location_id"] = rng.choice(BEDS)
    return entry(kind, patient_id=pid, minutes_ago=ago, drill=drill, payload=payload)


def test_kept_placements_equal_a_recomputation_after_random_appends(store: Store) -> None:
    rng = random.Random(7)
    written: list[Entry] = []
    assert adt.placements(store) == {} == adt.placements_recomputed(store)
    for _ in range(25):
        batch = [_random_entry(rng, written) for _ in range(rng.randrange(1, 6))]
        journal.append(store, batch)
        written += batch
        for drill in (False, True):
            assert adt.placements(store, drill=drill) == adt.placements_recomputed(
                store, drill=drill
            )
    struck = {e.corrects for e in written if e.kind is Kind.STRIKE}
    assert struck and any(e.corrects and e.kind is Kind.TRANSFER for e in written)
    assert adt.placements(store) and adt.placements(store, drill=True)


def _insert_at(store: Store, seq: int, e: Entry) -> None:
    """As a concurrent writer's commit that lands after a later seq was read."""
    cols = f"seq, {journal.COLUMNS}"
    with store.durable_transaction() as db:
        db.execute(
            f"INSERT INTO journal_entries ({cols}) VALUES (?, {', '.join('?' * 15)})",
            (seq, *journal.as_row(e)),
        )


def test_an_entry_committed_late_below_the_seq_read_is_not_missed(store: Store) -> None:
    journal.append(store, [entry(Kind.TRANSFER, patient_id="p1", payload={"location_id": "A"})])
    _insert_at(store, 1000, entry(Kind.TRANSFER, patient_id="p2", payload={"location_id": "B"}))
    assert {k: v.location_id for k, v in adt.placements(store).items()} == {"p1": "A", "p2": "B"}
    _insert_at(store, 500, entry(Kind.DISCHARGE, patient_id="p1", minutes_ago=1))
    got = adt.placements(store)
    assert got == adt.placements_recomputed(store)
    assert got["p1"].location_id is None and got["p1"].kind is Kind.DISCHARGE
