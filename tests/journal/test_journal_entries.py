"""Journal entries: what each kind needs, what is refused (naming the field), and what
is only unlikely and asks the clinician to confirm."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from standby.journal.entries import Capture, EntryError, Kind, implausible
from support.journal_entries import MEDICATION_ORDER, NOW, PAYLOADS, entry


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_every_kind_makes_an_entry_with_its_own_uuid(kind: Kind) -> None:
    a, b = entry(kind), entry(kind)
    assert uuid.UUID(a.id) and a.id != b.id
    assert a.kind is kind and a.recorded_at == NOW and a.performed_at < NOW


def test_a_resubmitted_form_keeps_its_uuid() -> None:
    first = entry(Kind.NOTE)
    again = entry(Kind.NOTE, entry_id=first.id)
    assert again.id == first.id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "vitals"),
        ({"heart_rate": "fast"}, "heart_rate"),
        ({"heart_rate": True}, "heart_rate"),
        ({"heart_rate": 1200}, "heart_rate"),
        ({"temperature_c": 98.6}, "temperature_c"),  # Fahrenheit typed in the Celsius box
        ({"systolic": 120}, "systolic"),
        ({"systolic": 80, "diastolic": 120}, "diastolic"),
        ({"glucose": 5.5}, "glucose"),
    ],
)
def test_impossible_vitals_are_refused_naming_the_field(payload: dict, field: str) -> None:
    with pytest.raises(EntryError) as e:
        entry(Kind.VITALS, payload=payload)
    assert e.value.field == field


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"temperature_c": 3.7}, "Temperature 3.7 °C"),
        ({"heart_rate": 700}, "Heart rate 700 /min"),
        ({"spo2": 52}, "SpO2 52 %"),
    ],
)
def test_unlikely_vitals_are_kept_only_once_confirmed(payload: dict, says: str) -> None:
    with pytest.raises(EntryError) as e:
        entry(Kind.VITALS, payload=payload)
    assert e.value.field == "confirmed" and says in e.value.message
    assert any(w.startswith(says) for w in implausible(Kind.VITALS, payload))
    kept = entry(Kind.VITALS, payload={**payload, "confirmed": True})
    assert kept.payload["confirmed"] is True
    assert implausible(Kind.VITALS, PAYLOADS[Kind.VITALS]) == []


def test_a_dose_not_given_needs_a_reason_and_a_given_dose_its_dose_and_route() -> None:
    held = {**PAYLOADS[Kind.ADMINISTRATION], "status": "held"}
    with pytest.raises(EntryError) as e:
        entry(Kind.ADMINISTRATION, payload=held)
    assert e.value.field == "reason"
    entry(Kind.ADMINISTRATION, payload={**held, "reason": "heart rate 48"})
    given = {k: v for k, v in PAYLOADS[Kind.ADMINISTRATION].items() if k != "route"}
    with pytest.raises(EntryError) as e:
        entry(Kind.ADMINISTRATION, payload=given)
    assert e.value.field == "route"


def test_a_medication_order_needs_its_sig() -> None:
    entry(Kind.ORDER, payload=MEDICATION_ORDER)
    with pytest.raises(EntryError) as e:
        entry(Kind.ORDER, payload={**MEDICATION_ORDER, "frequency": ""})
    assert e.value.field == "frequency"


def test_registration_needs_a_real_date_of_birth() -> None:
    with pytest.raises(EntryError) as e:
        entry(
            Kind.REGISTRATION, payload={**PAYLOADS[Kind.REGISTRATION], "birth_date": "1981-02-29"}
        )
    assert e.value.field == "birth_date"


def test_times_in_the_future_or_without_a_zone_are_refused() -> None:
    with pytest.raises(EntryError, match="future"):
        entry(Kind.NOTE, performed_at=NOW + timedelta(minutes=30))
    with pytest.raises(EntryError, match="zone"):
        entry(Kind.NOTE, performed_at=NOW.replace(tzinfo=None))
    with pytest.raises(EntryError, match="31 days"):
        entry(Kind.NOTE, performed_at=NOW - timedelta(days=40))


def test_a_transcription_names_its_clerk_and_a_strike_its_entry() -> None:
    with pytest.raises(EntryError) as e:
        entry(Kind.VITALS, capture=Capture.TRANSCRIBED)
    assert e.value.field == "transcribed_by"
    t = entry(Kind.VITALS, capture=Capture.TRANSCRIBED, transcribed_by="clerk.b")
    assert t.transcribed_by == "clerk.b"
    with pytest.raises(EntryError) as e:
        entry(Kind.STRIKE)
    assert e.value.field == "corrects"
