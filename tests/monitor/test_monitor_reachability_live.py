"""Live: the simulated EHR, the real sync and the real monitor on one replica. Cut the EHR:
every page (a nurse's census list and monitor page, the public status page) says it does
not answer within one monitor round, and agrees with the banner; restore it: the same,
with the downtime going on until an incident commander ends it."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_monitor_reachability import answered, login

from standby.monitor.config import MonitorConfig
from standby.monitor.runner import MonitorRunner
from standby.monitor.status import current_status
from standby.settings import Settings
from standby.sim.server import run_in_thread
from standby.store.base import Store
from standby.sync.runner import SyncRunner
from support.sim_server_support import small_store

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

INTERVAL = 0.3  # seconds between monitor rounds


def wait_for(what: str, check: Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.02)


def a_round_after(store: Store, t: float) -> Callable[[], bool]:
    """A monitor round that started at least half a second after the instant `t`
    (time.time()), so that no request in flight at `t` can be newer."""

    def check() -> bool:
        at = current_status(store).last_round_at
        return at is not None and at.timestamp() > t + 0.5

    return check


def pages(nurse: TestClient, public: TestClient) -> dict[str, str]:
    out = {p: nurse.get(p).text for p in ("/units", "/monitor")}
    out["/status"] = public.get("/status").text
    return out


def banner(page: str) -> str | None:
    m = re.search(r'id="downtime-banner" data-state="(\w+)"', page)
    return m.group(1) if m else None


@pytest.mark.slow
def test_cut_and_restore_the_ehr_every_page_agrees_within_one_round(
    site: Any, store: Store, tmp_path: Path
) -> None:
    ehr_store = small_store(tmp_path)
    url, ehr = run_in_thread(ehr_store)
    settings = Settings(
        db=tmp_path / "replica.db",
        source_url=url,
        sync_seed_mode="none",
        sync_timeout_seconds=2,
        sync_interval_seconds=0.2,
    )
    sync = SyncRunner(settings, store)
    stop = threading.Event()

    def sync_forever() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # the EHR is down: keep trying
                sync.run_round()
            stop.wait(0.2)

    cfg = MonitorConfig(interval_s=INTERVAL, timeout_s=1.0)
    monitor = MonitorRunner(store, cfg, url, channels={})
    worker = threading.Thread(target=sync_forever, daemon=True)
    nurse, public = login(site), TestClient(site)
    try:
        worker.start()
        monitor.start()
        wait_for("a clean sync round", lambda: sync.incremental.client.requests > 5, 30)
        wait_for("a monitor round", a_round_after(store, time.time()), 10)
        for path, page in pages(nurse, public).items():
            assert answered(page) == "yes", path

        cut = time.time()
        ehr.set_faults(outage=True)
        wait_for("one monitor round after the cut", a_round_after(store, cut), 10)
        for path, page in pages(nurse, public).items():
            assert answered(page) == "no", path
        wait_for("downtime", lambda: current_status(store).state == "downtime", 30)
        for path, page in pages(nurse, public).items():
            assert banner(page) == "downtime" and answered(page) == "no", path

        back = time.time()
        ehr.set_faults(outage=False)
        wait_for("one monitor round after the return", a_round_after(store, back), 10)
        for path, page in pages(nurse, public).items():
            assert banner(page) in ("downtime", "recovering"), path
            assert answered(page) == "yes", path
            assert "until an incident commander ends it" in page, path
        wait_for("recovery proposed", lambda: current_status(store).state == "recovering", 30)
        for path, page in pages(nurse, public).items():
            assert banner(page) == "recovering" and answered(page) == "yes", path
    finally:
        ehr.set_faults(outage=False)
        stop.set()
        monitor.stop()
        worker.join(60)
        sync.close()
        ehr.stop()
        ehr_store.close()
