"""The read cache never serves a summary or a census row built for another downtime
state: a declaration (or its end) is answered with "not charted" (or "overdue") at once,
however long the cache keeps summaries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.clinical.read_cache import ReadCache
from standby.fhir.display import parse_instant
from standby.fhir.mar import charting_cutoff
from standby.store import open_store
from support.mar_fixtures import DATA_AS_OF, NOW, everything

DECLARED = NOW - timedelta(minutes=90)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(db=tmp_path / "r.db")
    for r in everything():
        s.upsert(orjson.dumps(r))
    yield s
    s.close()


def _cutoff() -> Any:
    return charting_cutoff(DECLARED, parse_instant(DATA_AS_OF))


def test_summary_cached_before_the_declaration_is_not_served_after_it(store: Any) -> None:
    cache = ReadCache(store, max_age=86400)
    before = cache.summary("icu1", NOW)
    assert before is not None and before.mar.overdue_count == 1
    during = cache.summary("icu1", NOW, _cutoff())
    assert during is not None and during is not before
    assert during.mar.overdue_count == 0 and during.mar.not_charted_count == 2
    assert cache.summary("icu1", NOW, _cutoff()) is during  # kept for that downtime
    after = cache.summary("icu1", NOW)  # the downtime ended
    assert after is not None and after.mar.overdue_count == 1 and not after.mar.in_downtime


def test_census_row_follows_the_declaration(store: Any) -> None:
    cache = ReadCache(store, max_age=86400)
    before = cache.census_row("icu1", NOW)
    assert before is not None and before.summary.mar.overdue_count == 1
    during = cache.census_row("icu1", NOW, _cutoff())
    assert during is not None and during.summary.mar.overdue_count == 0
    assert during.summary.mar.not_charted_count == 2
