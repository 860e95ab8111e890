"""The sync process the crash test kills: seed by bulk export, then rounds until killed.
Usage: python sync_kill_child.py DB SOURCE ROUNDS"""

from __future__ import annotations

import sys
from pathlib import Path

from standby.settings import load_settings
from standby.store import open_store
from standby.sync.runner import SyncRunner


def main() -> None:
    db, source, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    settings = load_settings(
        source_url=source,
        db=db,
        sync_seed_mode="bulk",
        sync_interval_seconds=0.2,
        ingest_batch_size=500,
        sync_patients_per_search=20,
        sync_page_size=100,
        sync_rate=0,
    )
    store = open_store(db=db)
    runner = SyncRunner(settings, store)
    runner.seed()
    runner.watch(rounds=rounds)
    runner.close()
    store.close()


if __name__ == "__main__":
    main()
