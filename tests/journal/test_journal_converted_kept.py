"""An entry's FHIR resources are kept as JSON text (`overlay.resources_of`): what a view
gets equals a fresh conversion, is a new object each time, and an entry that differs in
anything (same id, another payload) is never served another's resources."""

from __future__ import annotations

from standby.journal import overlay
from standby.journal.entries import Kind
from support.journal_entries import entry


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
