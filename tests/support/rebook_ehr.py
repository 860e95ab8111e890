"""The scheduler's site with a simulated EHR over real HTTP: the replica and the EHR start
as the same synthetic hospital (the same versions); accounts as `support.web_site`'s, plus
`him` (health information, every unit: the review queue)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from standby.accounts import users
from standby.settings import Settings
from standby.sim.server import ServerHandle, run_in_thread
from standby.store import Store, open_store
from support.web_site import PASSWORD, Hospital, _copy_db, _hospital_over


@pytest.fixture
def hospital_and_ehr(
    hospital_db: Path, tmp_path: Path
) -> Iterator[tuple[Hospital, Store, ServerHandle]]:
    """The replica and the EHR start as the same hospital (the same versions)."""
    _copy_db(hospital_db, tmp_path / "ehr.db")
    _copy_db(hospital_db, tmp_path / "replica.db")
    ehr = open_store(db=tmp_path / "ehr.db")
    base, handle = run_in_thread(ehr, change_rate=0)
    store = open_store(db=tmp_path / "replica.db")
    settings = Settings(db=tmp_path / "replica.db", source_url=base, recovery_rate=0)
    h = _hospital_over(store, settings)
    users.add_user(
        store, "him", PASSWORD, role="health-information", units=["*"], display_name="Him"
    )
    try:
        yield h, ehr, handle
    finally:
        handle.stop()
        store.close()
        ehr.close()
