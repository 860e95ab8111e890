"""The read model shows the replica plus the journal, and the read cache follows journal
writes exactly as it follows the sync's: a summary kept before an entry is written is
never shown after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from standby.clinical.read_cache import ReadCache
from standby.clinical.summary import patient_summary
from standby.journal import repository
from standby.journal.entries import Kind
from standby.store import open_store
from support.journal_entries import entry

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _patient(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": f"MRN-{pid}"}],
        "name": [{"family": "Testperson", "given": [pid]}],
        "birthDate": "1950-01-01",
        "gender": "female",
    }


def test_an_entry_shows_on_the_very_next_summary(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "replica.db")
    try:
        for pid in ("p1", "p2"):
            store.upsert(orjson.dumps(_patient(pid)))
        cache = ReadCache(store, max_age=600)
        first = cache.summary("p1", NOW)
        other = cache.summary("p2", NOW)
        assert first is not None and other is not None
        assert first.allergies.items == []
        assert cache.summary("p1", NOW) is first  # kept
        repository.append(
            store,
            [entry(Kind.ALLERGY, patient_id="p1", now=NOW, minutes_ago=1, encounter_id=None)],
        )
        after = cache.summary("p1", NOW + timedelta(seconds=1))
        assert after is not first and after is not None
        assert [a.substance for a in after.allergies.items] == ["Latex"]
        assert cache.summary("p2", NOW + timedelta(seconds=1)) is other  # not on p2
        # the same as reading afresh
        fresh = patient_summary(store, "p1", NOW + timedelta(seconds=1))
        assert fresh is not None and fresh.allergies == after.allergies
    finally:
        store.close()
