"""The read cache (standby.clinical.read_cache): a cached summary is used
only while nothing it was built from has changed and while it is younger than max_age.
Every test changes the store the way the sync does and checks the very next summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.clinical.read_cache import ReadCache
from standby.store import open_store
from standby.store.base import Store

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _put(store: Store, resource: dict[str, Any]) -> None:
    store.upsert(orjson.dumps(resource))


def _patient(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": f"MRN-{pid}"}],
        "name": [{"family": "Testperson", "given": [pid]}],
        "birthDate": "1950-01-01",
        "gender": "female",
    }


def _allergy(aid: str, pid: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"text": text},
        "patient": {"reference": f"Patient/{pid}"},
    }


def _med_request(mid: str, pid: str, med_ref: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": med_ref},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-11-28T10:00:00Z",
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(db=tmp_path / "cache.db")
    for pid in ("a", "b"):
        _put(s, _patient(pid))
    _put(s, _allergy("al1", "a", "Penicillin"))
    yield s
    s.close()


def _substances(cache: ReadCache, pid: str, now: datetime = NOW) -> list[str]:
    summary = cache.summary(pid, now)
    assert summary is not None
    return [a.substance for a in summary.allergies.items]


def test_a_repeated_view_is_served_from_the_cache(store: Store) -> None:
    cache = ReadCache(store, max_age=60)
    assert _substances(cache, "a") == ["Penicillin"]
    assert _substances(cache, "a") == ["Penicillin"]
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_new_allergy_shows_on_the_next_view(store: Store) -> None:
    cache = ReadCache(store, max_age=60)
    _substances(cache, "a")
    _put(store, _allergy("al2", "a", "Latex"))
    assert sorted(_substances(cache, "a")) == ["Latex", "Penicillin"]


def test_a_deleted_allergy_disappears_on_the_next_view(store: Store) -> None:
    cache = ReadCache(store, max_age=60)
    _substances(cache, "a")
    store.tombstone("AllergyIntolerance", "al1", version_id="9")
    summary = cache.summary("a", NOW)
    assert summary is not None and summary.allergies.items == []


def test_a_resource_moved_to_another_patient_leaves_the_first_one(store: Store) -> None:
    """Wrong-patient documentation corrected: the allergy now names patient b."""
    cache = ReadCache(store, max_age=60)
    assert _substances(cache, "a") == ["Penicillin"]
    assert _substances(cache, "b") == []
    _put(store, _allergy("al1", "b", "Penicillin"))
    assert _substances(cache, "a") == []
    assert _substances(cache, "b") == ["Penicillin"]


def test_a_referenced_medication_arriving_later_is_named(store: Store) -> None:
    cache = ReadCache(store, max_age=60)
    _put(store, _med_request("mr1", "a", "Medication/m1"))
    first = cache.summary("a", NOW)
    assert first is not None
    assert "Heparin" not in " ".join(m.name for m in first.medications.items)
    _put(
        store,
        {"resourceType": "Medication", "id": "m1", "code": {"text": "Heparin 5000 units/mL"}},
    )
    second = cache.summary("a", NOW)
    assert second is not None
    assert "Heparin" in " ".join(m.name for m in second.medications.items)


def test_an_old_summary_is_rebuilt_for_the_new_time(store: Store) -> None:
    cache = ReadCache(store, max_age=15)
    first = cache.summary("a", NOW)
    again = cache.summary("a", NOW + timedelta(seconds=14))
    later = cache.summary("a", NOW + timedelta(seconds=15))
    assert first is again
    assert later is not None and later is not first and later.now == NOW + timedelta(seconds=15)


def test_max_age_zero_turns_the_cache_off(store: Store) -> None:
    cache = ReadCache(store, max_age=0)
    assert not cache.enabled
    assert cache.summary("a", NOW) is not cache.summary("a", NOW)


def test_an_unknown_patient_is_none_and_not_cached(store: Store) -> None:
    cache = ReadCache(store, max_age=60)
    assert cache.summary("nobody", NOW) is None
    _put(store, _patient("nobody"))
    assert cache.summary("nobody", NOW) is not None


def test_the_cache_holds_at_most_max_entries(store: Store) -> None:
    cache = ReadCache(store, max_age=60, max_entries=1)
    cache.summary("a", NOW)
    cache.summary("b", NOW)
    cache.summary("a", NOW)
    assert cache.misses == 3


def test_a_dose_turning_overdue_expires_the_summary_at_that_instant(store: Store) -> None:
    """Due and overdue are exact, however long max_age is."""
    q4 = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    _put(
        store,
        {
            "resourceType": "MedicationRequest",
            "id": "vanc",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Vancomycin 1 g"},
            "subject": {"reference": "Patient/a"},
            "authoredOn": "2026-11-29T03:00:00Z",  # first dose 04:00
            "dosageInstruction": [{"timing": q4, "text": "1 g IV q4h"}],
        },
    )
    cache = ReadCache(store, max_age=86400)
    at_0400 = NOW + timedelta(hours=1)  # NOW is 03:00; the 04:00 dose is due from 03:00
    first = cache.summary("a", at_0400)
    assert first is not None and first.mar.overdue_count == 0
    just_before = cache.summary("a", at_0400 + timedelta(minutes=59, seconds=59))
    assert just_before is first  # 04:59:59: still due, the same summary
    after = cache.summary("a", at_0400 + timedelta(hours=1, seconds=1))
    assert after is not first and after is not None and after.mar.overdue_count >= 1


def _ward(store: Store) -> None:
    for loc in (
        {"resourceType": "Location", "id": "u1", "name": "4 West", "alias": ["4W"],
         "physicalType": {"coding": [{"code": "wi"}]}},
        {"resourceType": "Location", "id": "b1", "name": "401-A",
         "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/u1"}},
    ):  # fmt: skip
        _put(store, loc)
    _put(
        store,
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/a"},
            "location": [{"location": {"reference": "Location/b1"}, "status": "active"}],
            "period": {"start": "2026-11-28T08:00:00Z"},
        },
    )


def test_a_cached_census_row_is_reused_and_dropped_on_change(store: Store) -> None:
    from standby.clinical import directory, unit_census

    _ward(store)
    directory.invalidate(store)
    cache = ReadCache(store, max_age=60)
    first = unit_census(store, "u1", NOW, cache=cache)
    assert [p.allergies.text for p in first.patients] == ["Penicillin"]
    misses = cache.misses
    unit_census(store, "u1", NOW + timedelta(seconds=5), cache=cache)
    assert cache.misses == misses  # the refresh read nothing of the patient again
    _put(store, _allergy("al2", "a", "Latex"))
    again = unit_census(store, "u1", NOW + timedelta(seconds=10), cache=cache)
    assert "Latex" in again.patients[0].allergies.text
    uncached = unit_census(store, "u1", NOW + timedelta(seconds=10))
    assert uncached.patients == again.patients  # the cache changes nothing shown


def test_many_changes_at_once_clear_the_cache(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More changes × entries than are worth matching one by one: everything goes."""
    from standby.clinical import read_cache

    monkeypatch.setattr(read_cache, "MATCH_BUDGET", 1)
    cache = ReadCache(store, max_age=60)
    cache.summary("a", NOW)
    cache.summary("b", NOW)
    _put(store, _allergy("al9", "a", "Latex"))  # 1 change × 2 entries > 1
    assert "Latex" in _substances(cache, "a")
    misses = cache.misses
    cache.summary("b", NOW)  # b was dropped too, though nothing of b changed
    assert cache.misses == misses + 1
