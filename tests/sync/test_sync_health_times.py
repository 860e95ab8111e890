"""The sync's health counts by time, not by the text of two different time formats.

`sync_health` counts what was quarantined in the last hour by comparing the store's
`quarantine.at` with a bound the sync writes: both are text, so they must be in the one
stored form of `standby.clock` (docs/time.md). When the store wrote milliseconds and the
sync microseconds, an item quarantined at 10:00:00.123 counted as quarantined after
10:00:00.123001, because `…00.123Z` sorts after `…00.123001Z`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from standby.store.sqlite import SQLiteStore
from standby.sync import status


def test_quarantined_last_hour_compares_times(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "replica.db") as store:
        store.quarantine(source="sync:ehr", reason="not JSON", raw=b"{", line=1)
        (item,) = store.quarantined()
        at = datetime.fromisoformat(item.at.replace("Z", "+00:00"))  # as the store says
        hour = timedelta(hours=1)
        tick = timedelta(microseconds=1)
        assert status.sync_health(store, now=at + hour - tick).quarantined_last_hour == 1
        assert status.sync_health(store, now=at + hour + tick).quarantined_last_hour == 0
