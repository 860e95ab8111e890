"""An edge node's first pull of a patient is checked by `_summary=count` against its
central node while the central node keeps receiving the EHR's changes: the count is
limited to the central node's "data as of", since what reaches it late keeps the EHR's
older `lastUpdated` (a live demo failed an edge node's first round this way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from standby.sync.census import SearchRequest, instant
from standby.sync.checkpoints import pull_group
from standby.sync.incremental import SearchResult
from standby.sync.pull_check import check_pulls
from standby.sync.replica_writer import WriteStats

DATE = datetime(2026, 11, 30, 11, 34, 21, tzinfo=UTC)  # the central node's clock
AS_OF = DATE - timedelta(seconds=20)  # its "data as of" then
LATE = DATE - timedelta(seconds=5)  # an Observation made in the EHR then, arriving after


class Central:
    """5,235 Observations of the patient held up to AS_OF; 5 more (lastUpdated LATE)
    arrived after the pull was read."""

    def __init__(self) -> None:
        self.asked: list[list[tuple[str, str]]] = []

    def get_json(self, resource_type: str, params: Any = None) -> dict[str, Any]:
        self.asked.append(list(params))
        bound = dict(params)["_lastUpdated"].removeprefix("le")
        return {"total": 5235 if bound < instant(LATE) else 5240}


def pulled(upstream_as_of: datetime | None) -> SearchResult:
    req = SearchRequest(
        pull_group(["p1"]), "Observation", (("patient", "Patient/p1"),), "p1", full=True
    )
    return SearchResult(
        req, ok=True, stats=WriteStats(written=5235), date=DATE, upstream_as_of=upstream_as_of
    )


def test_the_count_of_a_pull_from_a_central_standby_stops_at_its_data_as_of() -> None:
    central, r = Central(), pulled(AS_OF)
    assert check_pulls(central, [r], {}) == []  # type: ignore[arg-type]
    assert r.ok
    assert ("_lastUpdated", f"le{instant(AS_OF + timedelta(seconds=1))}") in central.asked[0]


def test_from_an_ehr_the_count_still_stops_at_its_date_and_finds_a_short_pull() -> None:
    central, r = Central(), pulled(None)
    (why,) = check_pulls(central, [r], {})  # type: ignore[arg-type]
    assert "returned 5235, but the source counts 5240" in why
    assert not r.ok
    assert ("_lastUpdated", f"le{instant(DATE + timedelta(seconds=1))}") in central.asked[0]
