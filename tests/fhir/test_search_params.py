"""Pure extraction of search index values (standby.fhir.search_params)."""

from __future__ import annotations

from standby.fhir.references import parse_reference
from standby.fhir.search_params import (
    MAX_MS,
    date_range,
    extract,
    normalize_string,
    patient_compartment,
)


def test_partial_dates_expand_to_ranges() -> None:
    year = date_range("1980")
    month = date_range("1980-02")
    day = date_range("1980-02-29")
    assert year and month and day
    assert year[0] == date_range("1980-01-01")[0]  # type: ignore[index]
    assert month[0] < day[0] < month[1] and day[1] == month[1]
    assert month[1] - month[0] == 29 * 86_400_000 - 1
    assert year[1] - year[0] == 366 * 86_400_000 - 1
    assert date_range("2026-01-01T10:00:00+02:00") == date_range("2026-01-01T08:00:00Z")
    assert date_range("not a date") is None


def test_strings_are_case_and_accent_insensitive() -> None:
    assert normalize_string("Müller") == normalize_string("MULLER") == "muller"
    assert normalize_string("Straße") == "strasse"


def test_references() -> None:
    assert parse_reference("Patient/1") == ("Patient", "1")
    assert parse_reference("https://ehr/fhir/Patient/1/_history/3") == ("Patient", "1")
    assert parse_reference("1") == (None, "1")
    assert parse_reference("#contained") is None
    assert parse_reference("urn:uuid:1234") is None


def test_extract_choice_types_periods_and_missing_fields() -> None:
    ex = extract(
        {
            "resourceType": "Encounter",
            "id": "e",
            "class": {"system": "v3", "code": "IMP"},
            "period": {"start": "2026-01-01"},
            "subject": {"reference": "Patient/p"},
            "location": [{"location": {"reference": "Location/bed"}}, {"location": {}}],
            "participant": [{"individual": {"display": "no reference"}}],
        }
    )
    assert ("class", "v3", "IMP") in ex.token
    assert {d for d in ex.date if d[0] == "date"} == {("date", date_range("2026-01-01")[0], MAX_MS)}  # type: ignore[index]
    assert ("location", "Location", "bed") in ex.reference
    assert ("subject", "Patient", "p") in ex.reference
    assert extract({"resourceType": "Observation"}).token == set()


def test_patient_compartment() -> None:
    assert patient_compartment({"resourceType": "Patient", "id": "p"}) == "p"
    assert (
        patient_compartment(
            {
                "resourceType": "Appointment",
                "participant": [
                    {"actor": {"reference": "Location/x"}},
                    {"actor": {"reference": "Patient/q"}},
                ],
            }
        )
        == "q"
    )
    assert (
        patient_compartment({"resourceType": "Observation", "subject": {"reference": "Group/g"}})
        is None
    )


def test_a_single_identifier_element_is_indexed_as_a_list_of_one() -> None:
    # DocumentReference's identifier: masterIdentifier (0..1, one Identifier) | identifier
    doc = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:example:doc", "value": "DOC-1"},
        "identifier": [{"system": "urn:example:other", "value": "X-1"}],
    }
    tokens = {t for t in extract(doc).token if t[0] == "identifier"}
    assert tokens == {
        ("identifier", "urn:example:doc", "DOC-1"),
        ("identifier", "urn:example:other", "X-1"),
    }
    del doc["identifier"]
    assert {t for t in extract(doc).token if t[0] == "identifier"} == {
        ("identifier", "urn:example:doc", "DOC-1")
    }
    # Composition.identifier is 0..1 too: one Identifier, not a list
    comp = {"resourceType": "Composition", "identifier": doc["masterIdentifier"]}
    assert {t for t in extract(comp).token if t[0] == "identifier"} == {
        ("identifier", "urn:example:doc", "DOC-1")
    }
