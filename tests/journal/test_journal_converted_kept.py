"""An entry's FHIR resources are kept as JSON text (`overlay.resources_of`): what a view
gets equals a fresh conversion, is a new object each time, and an entry that differs in
anything (same id, another payload) is never served another's resources. The entry of a
stored row is kept too (`summary_entries`), and the replica's resources are handed on
by the overlay without being copied or changed."""

from __future__ import annotations

import copy

from standby.journal import overlay, summary_entries
from standby.journal import repository as journal
from standby.journal.entries import Kind
from standby.store.base import Store
from support.journal_entries import NOW, entry


def test_kept_resources_equal_a_fresh_conversion_and_are_new_each_time() -> None:
    for kind in (Kind.VITALS, Kind.ADMINISTRATION, Kind.NOTE, Kind.ALLERGY, Kind.ORDER):
        e = entry(kind)
        fresh = overlay._convert(e)
        first = overlay.resources_of(e)
        again = overlay.resources_of(e)
        assert first == fresh == again and again is not first
        first[0]["id"] = "changed"
        first[0]["meta"]["versionId"] = "9"
        assert overlay.resources_of(e) == fresh


def test_an_entry_with_the_same_id_and_another_payload_is_converted_anew() -> None:
    a = entry(
        Kind.VITALS, payload={"heart_rate": 80}, entry_id="7f9d0a4e-0000-4000-8000-000000000001"
    )
    b = entry(Kind.VITALS, payload={"heart_rate": 120}, entry_id=a.id)
    assert overlay.resources_of(a) == overlay._convert(a)
    assert overlay.resources_of(b) == overlay._convert(b) != overlay._convert(a)


def test_the_replicas_resources_are_handed_on_as_they_are_and_never_changed() -> None:
    """A summary of a long stay holds hundreds of the replica's resources: the overlay
    hands them on without copying each one, and what the journal changes (a transfer's
    encounter) is a new object, the replica's left as it was."""
    obs = {"resourceType": "Observation", "id": "o1", "status": "final"}
    enc = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "in-progress",
        "subject": {"reference": "Patient/p1"},
        "location": [{"location": {"reference": "Location/4W-412-B"}, "status": "active"}],
    }
    before = copy.deepcopy(enc)
    moved = entry(Kind.TRANSFER, encounter_id="enc-1", payload={"location_id": "3W-301-A"})
    out = overlay.with_journal([obs, enc], [moved, entry(Kind.VITALS)])
    assert any(r is obs for r in out)
    [changed] = [r for r in out if r["resourceType"] == "Encounter"]
    assert changed is not enc and changed["id"] == "enc-1"
    assert enc == before
    quiet = overlay.with_journal([obs, enc], [entry(Kind.VITALS)])
    assert any(r is enc for r in quiet)


def test_a_row_read_again_gives_the_entry_kept_for_it_and_another_row_its_own(
    store: Store,
) -> None:
    """The entry of a stored row is kept (its times and payload not parsed again at
    every view, its resources found without building a key from it); a row that differs
    in any column is given an entry of its own."""
    journal.append(store, [entry(Kind.VITALS, payload={"heart_rate": 80}, minutes_ago=30)])
    first = summary_entries.for_summary(store, "p1", NOW)
    again = summary_entries.for_summary(store, "p1", NOW)
    assert len(first) == 1 and again[0] is first[0]
    assert overlay.resources_of(again[0]) == overlay._convert(first[0])
    row = list(journal.as_row(first[0]))
    row[14] = '{"heart_rate":120}'
    other = summary_entries._rows.entry(row)
    assert other is not first[0] and other.payload == {"heart_rate": 120}
    assert other.id == first[0].id
    assert overlay.resources_of(other) == overlay._convert(other) != overlay._convert(first[0])
    assert summary_entries._rows.entry(journal.as_row(first[0])) is first[0]
