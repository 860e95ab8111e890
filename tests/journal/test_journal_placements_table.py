"""Where the journal puts each patient is kept in a table of its own (`journal_placements`,
written in the transaction that writes the entries: `adt.keep_placements`), so a census
does not read every admission, transfer, discharge and strike of weeks of journal at its
first view. The journal is append-only and corrections and strikes are new entries: the
table must follow them exactly. On every engine: after random appends, bulk loads and
rows written without keeping it (an older tree, a late commit), the table equals a
rebuild from scratch and a recomputation from every entry."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from test_journal_placements_kept import BEDS, _insert_at, _random_entry

from standby.journal import adt, bulk_load
from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind
from standby.store.base import Store
from support.journal_entries import entry
from support.store_engines import DURABLE_ENGINES, make_store


def _same_everywhere(store: Store) -> None:
    for drill in (False, True):
        want = adt.placements_recomputed(store, drill=drill)
        assert adt.placements_stored(store, drill=drill) == want, drill
        assert adt.placements(store, drill=drill) == want, drill
        _among_is_a_part(store, drill, want)


def _among_is_a_part(store: Store, drill: bool, want: dict[str, adt.Placement]) -> None:
    """What a census asks (`placements_among`: placed at some locations, or some
    patients) is that part of every placement, from a new store object's first read
    (the table) and from one that has read them all (kept)."""
    for locations, patients in ((BEDS[:2], {"p1", "p2"}), (BEDS[2:], set()), ([], {"p0"})):
        part = {p: x for p, x in want.items() if x.location_id in locations or p in patients}
        adt._kept.pop(store, None)
        assert adt.placements_among(store, locations, patients, drill=drill) == part
        adt.placements(store, drill=drill)
        assert adt.placements_among(store, locations, patients, drill=drill) == part


def test_the_table_equals_a_rebuild_from_scratch_after_random_appends(store: Store) -> None:
    rng = random.Random(11)
    written: list[Entry] = []
    for _ in range(30):
        batch = [_random_entry(rng, written) for _ in range(rng.randrange(1, 6))]
        journal.append(store, batch)
        written += batch
        _same_everywhere(store)
    assert any(e.kind is Kind.STRIKE for e in written)
    assert adt.placements_stored(store) and adt.placements_stored(store, drill=True)
    before = {d: adt.placements_stored(store, drill=d) for d in (False, True)}
    adt.rebuild_placements(store)
    for d in (False, True):
        assert adt.placements_stored(store, drill=d) == before[d]
    _same_everywhere(store)


def _where(store: Store, pid: str) -> str | None:
    placed = adt.placements(store).get(pid)
    assert placed == adt.placements_stored(store).get(pid)
    return None if placed is None else placed.location_id


def test_a_struck_or_corrected_transfer_places_the_patient_right(store: Store) -> None:
    first = entry(Kind.TRANSFER, patient_id="p1", minutes_ago=60, payload={"location_id": "A"})
    second = entry(Kind.TRANSFER, patient_id="p1", minutes_ago=30, payload={"location_id": "B"})
    journal.append(store, [first])
    journal.append(store, [second])
    assert _where(store, "p1") == "B"
    # the second transfer struck: back where the first put them
    journal.append(store, [entry(Kind.STRIKE, patient_id="p1", corrects=second.id)])
    assert _where(store, "p1") == "A"
    # the first corrected to another bed: there
    fixed = entry(Kind.TRANSFER, patient_id="p1", corrects=first.id, payload={"location_id": "C"})
    journal.append(store, [fixed])
    assert _where(store, "p1") == "C"
    # the correction corrected again, then struck: nothing of the journal places them
    again = entry(Kind.TRANSFER, patient_id="p1", corrects=fixed.id, payload={"location_id": "D"})
    journal.append(store, [again])
    assert _where(store, "p1") == "D"
    journal.append(store, [entry(Kind.STRIKE, patient_id="p1", corrects=first.id)])
    assert _where(store, "p1") is None and "p1" not in adt.placements_stored(store)
    # a discharge, then the discharge struck
    journal.append(store, [entry(Kind.TRANSFER, patient_id="p1", payload={"location_id": "E"})])
    out = entry(Kind.DISCHARGE, patient_id="p1")
    journal.append(store, [out])
    placed = adt.placements(store)["p1"]
    assert placed.location_id is None and placed.kind is Kind.DISCHARGE
    journal.append(store, [entry(Kind.STRIKE, patient_id="p1", corrects=out.id)])
    assert _where(store, "p1") == "E"
    _same_everywhere(store)


def test_rows_written_without_keeping_the_table_are_read_and_then_kept(store: Store) -> None:
    """An older tree's rows, or a commit that lands below the table's newest seq: the
    placements read them from the journal until the next writer keeps the table."""
    journal.append(store, [entry(Kind.TRANSFER, patient_id="p1", payload={"location_id": "A"})])
    _insert_at(store, 1000, entry(Kind.TRANSFER, patient_id="p2", payload={"location_id": "B"}))
    assert "p2" not in adt.placements_stored(store)
    assert adt.placements_among(store, ["B"], set()) == {"p2": adt.placements(store)["p2"]}
    assert {k: v.location_id for k, v in adt.placements(store).items()} == {"p1": "A", "p2": "B"}
    _insert_at(store, 500, entry(Kind.DISCHARGE, patient_id="p1", minutes_ago=1))
    assert adt.placements(store) == adt.placements_recomputed(store)
    assert adt.placements(store)["p1"].location_id is None
    journal.append(store, [entry(Kind.VITALS, patient_id="p3", payload={"heart_rate": 80})])
    assert adt.placements(store) == adt.placements_recomputed(store)
    journal.append(store, [entry(Kind.ADMIT, patient_id="p4", payload={"location_id": "C"})])
    _same_everywhere(store)  # the writer caught the table up (rebuilt it)
    assert set(adt.placements_stored(store)) == {"p1", "p2", "p4"}


def test_a_bulk_load_keeps_the_table(store: Store) -> None:
    rng = random.Random(5)
    written: list[Entry] = []
    for _ in range(60):
        written.append(_random_entry(rng, written))
    bulk_load.load(store, written, batch=7)
    _same_everywhere(store)


@pytest.mark.parametrize("engine", DURABLE_ENGINES)
def test_writers_of_two_processes_at_once_keep_the_table_right(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two store objects on one database (as two processes), appending transfers and
    strikes of the same patients at the same time: each keeps the table after the other's
    commit (on PostgreSQL, the state row is locked first)."""
    pg = request.getfixturevalue("pg_schema") if engine == "postgres" else None
    stores = [make_store(engine, tmp_path, pg), make_store(engine, tmp_path, pg)]
    try:
        errors: list[BaseException] = []

        def write(s: Store, seed: int) -> None:
            rng = random.Random(seed)
            mine: list[Entry] = []
            try:
                for _ in range(25):
                    pid = f"p{rng.randrange(3)}"
                    if mine and rng.random() < 0.3:
                        e = entry(Kind.STRIKE, patient_id=pid, corrects=rng.choice(mine).id)
                    else:
                        e = entry(
                            Kind.TRANSFER,
                            patient_id=pid,
                            minutes_ago=rng.randrange(1, 300),
                            payload={"location_id": f"bed-{rng.randrange(9)}"},
                        )
                    journal.append(s, [e])
                    mine.append(e)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        _same_everywhere(stores[0])
    finally:
        for s in stores:
            s.close()
