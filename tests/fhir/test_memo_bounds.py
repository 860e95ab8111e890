"""The memoised parsers stay small in a process that runs for months.

Their keys are instants, references and journal entry ids, and new ones arrive with every
change the sync writes: with 65,536 entries each they filled over hours and held 13-21 MB
apiece (the viewer's and the sync's memory rose 20-40 MB an hour in `standby bench soak`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from standby.fhir import display, search_params
from standby.journal import fhir_mapping

BASE = datetime(2026, 1, 1, tzinfo=UTC)
BOUND = 8192


def _instant(i: int) -> tuple[Any, ...]:
    return ((BASE + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),)


CACHES: dict[str, tuple[Callable[..., Any], Callable[[int], tuple[Any, ...]]]] = {
    "parse_instant": (display._parse_instant, _instant),
    "date_range": (search_params.date_range, _instant),
    "reference_id": (display._reference_id, lambda i: (f"Observation/o{i}", "Observation")),
    "reference_key": (display._reference_key, lambda i: (f"Observation/o{i}",)),
    "uuid_value": (fhir_mapping._uuid_value, lambda i: (str(uuid.UUID(int=i)), "dose")),
}


@pytest.mark.parametrize("name", sorted(CACHES))
def test_cache_stays_bounded_after_many_distinct_keys(name: str) -> None:
    fn, key = CACHES[name]
    for i in range(3 * BOUND):
        fn(*key(i))
    assert fn.cache_info().currsize <= BOUND  # type: ignore[attr-defined]
