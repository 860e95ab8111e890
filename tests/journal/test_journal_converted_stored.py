"""Each entry's resources are stored with it (`journal.converted`): what is stored equals a
conversion from scratch, corrections and strikes included; a view of a freshly started
viewer (nothing kept) shows the stored ones and the same page as converting everything;
a row of another mapping's version, or written before the column, is converted afresh."""

from __future__ import annotations

from pathlib import Path

import orjson

from standby.journal import (
    batched,
    bulk_load,
    converted,
    overlay,
    schema,
    summary_entries,
)
from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind
from standby.store import open_store
from standby.store.base import Store
from support.journal_entries import NOW, entry


def _journal() -> list[Entry]:
    hr = entry(Kind.VITALS, payload={"heart_rate": 80, "weight_kg": 70.5}, minutes_ago=90)
    note = entry(Kind.NOTE, minutes_ago=80)
    dose = entry(Kind.ADMINISTRATION, minutes_ago=70)
    order = entry(Kind.ORDER, minutes_ago=60)
    allergy = entry(Kind.ALLERGY, minutes_ago=50)
    fixed_hr = entry(
        Kind.VITALS, payload={"heart_rate": 88, "weight_kg": 71.0}, minutes_ago=40, corrects=hr.id
    )
    fixed_again = entry(
        Kind.VITALS,
        payload={"heart_rate": 86, "weight_kg": 71.0},
        minutes_ago=35,
        corrects=fixed_hr.id,
    )
    struck_note = entry(Kind.STRIKE, minutes_ago=30, corrects=note.id)
    struck_dose = entry(Kind.STRIKE, minutes_ago=20, corrects=dose.id)
    return [hr, note, dose, order, allergy, fixed_hr, fixed_again, struck_note, struck_dose]


def _stored(store: Store) -> dict[str, tuple[int | None, str | None]]:
    with store.read_transaction() as db:
        rows = db.query("SELECT id, mapping, resources FROM journal_entries")
    return {str(r[0]): (r[1], r[2]) for r in rows}


def test_the_stored_resources_equal_a_conversion_from_scratch(store: Store) -> None:
    entries = _journal()
    journal.append(store, entries[:5])
    journal.append(store, entries[5:])  # the corrections and strikes come later
    stored = _stored(store)
    assert set(stored) == {e.id for e in entries}
    for e in entries:
        mapping, text = stored[e.id]
        assert mapping == converted.MAPPING and text is not None
        assert orjson.loads(text) == overlay._convert(e)
    assert orjson.loads(stored[entries[-1].id][1] or "") == []  # a strike becomes nothing


def test_a_first_view_shows_the_stored_resources_and_what_converting_shows(
    store: Store,
) -> None:
    entries = _journal()
    journal.append(store, entries)
    overlay.forget_kept()
    summary_entries.forget_kept()
    for census_row in (False, True):
        read = batched.for_summaries(store, ["p1"], NOW, census_row=census_row)["p1"]
        shown = overlay.as_resources(read, now=NOW, census_row=census_row)
        # every entry shown was handed over as stored, none converted at the view
        wanted = overlay.shown(read, now=NOW, census_row=census_row)
        assert wanted and all(not overlay.needs_resources(e) for e in wanted)
        fresh = overlay.as_resources(journal.for_patient(store, "p1"), now=NOW)
        if not census_row:
            assert shown == fresh
        ids = {r["id"] for r in shown}
        assert f"journal-{entries[0].id}" not in str(ids)  # corrected: the newest stands
        assert not any(r["resourceType"] == "DocumentReference" for r in shown)  # struck
        assert not any(r["resourceType"] == "MedicationAdministration" for r in shown)
    one = summary_entries.for_summary(store, "p1", NOW)
    assert overlay.as_resources(one, now=NOW) == overlay.as_resources(
        journal.for_patient(store, "p1"), now=NOW
    )


def test_a_row_of_another_mapping_or_without_resources_is_converted_afresh(
    store: Store,
) -> None:
    e = entry(Kind.VITALS, payload={"heart_rate": 80}, minutes_ago=30)
    stale = entry(Kind.NOTE, minutes_ago=20)
    bare = entry(Kind.ORDER, minutes_ago=10)
    wrong = '[{"resourceType": "Observation", "id": "not-this"}]'
    schema.ensure(store)
    with store.transaction() as db:
        db.execute(journal.INSERT, journal.written_row(e))
        db.execute(journal.INSERT, (*journal.as_row(stale), converted.MAPPING - 1, wrong))
        db.execute(journal.INSERT, (*journal.as_row(bare), None, None))
    overlay.forget_kept()
    summary_entries.forget_kept()
    read = summary_entries.for_summary(store, "p1", NOW)
    assert [x.id for x in read] == [e.id, stale.id, bare.id]
    assert not overlay.needs_resources(read[0])
    assert overlay.needs_resources(read[1]) and overlay.needs_resources(read[2])
    assert overlay.resources_of(read[1]) == overlay._convert(stale)
    assert overlay.resources_of(read[2]) == overlay._convert(bare)


def test_a_copied_journal_keeps_its_rows_and_their_resources(store: Store, tmp_path: Path) -> None:
    """`bulk_load.copy_journal` (the benchmarks' replicas) copies rows as stored, in order."""
    entries = _journal()
    journal.append(store, entries)
    dst = open_store(db=tmp_path / "copy.db")
    try:
        assert bulk_load.copy_journal(store, dst, batch=4) == len(entries)
        assert _stored(dst) == _stored(store)
        assert journal.for_patient(dst, "p1") == journal.for_patient(store, "p1")
    finally:
        dst.close()
