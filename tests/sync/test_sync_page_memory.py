"""A huge search page is parsed without holding several copies: the sync process reading
an 80 MB page stays under 300 MB peak RSS (its whole life: imports, the page, the writes),
and writes every resource on it."""

from __future__ import annotations

import pytest

from standby.bench.sync_page_rss import measure


@pytest.mark.slow
def test_an_80_mb_page_is_read_in_under_300_mb():
    got = measure(80)
    assert got["ok"] and got["written"] == got["sent"]
    assert got["peak_mb"] < 300, got
