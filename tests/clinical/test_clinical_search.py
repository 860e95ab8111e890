"""standby.clinical.search.every_match: every page of a store search, in its order."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from standby.clinical.search import every_match
from standby.store import open_store


def test_every_match_reads_every_page_in_the_search_order(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "search.db")
    try:
        for i in range(7):
            store.upsert(
                orjson.dumps(
                    {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": "Pager"}]}
                )
            )
        params = [("name", "Pager")]
        one_page = [sr.id for sr in store.search("Patient", params, count=100).resources]
        assert len(one_page) == 7
        assert [sr.id for sr in every_match(store, "Patient", params, page_size=3)] == one_page
        assert [sr.id for sr in every_match(store, "Patient", params, page_size=7)] == one_page
        with pytest.raises(ValueError):
            list(every_match(store, "Patient", [("no-such-parameter", "x")]))
    finally:
        store.close()
