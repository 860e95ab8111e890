"""End to end: the EHR goes down → downtime declared → banner in Chromium → email received
by a real SMTP server → the EHR comes back → recovery proposed → an incident commander
confirms the end in the browser → normal. Screenshots in artifacts/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from standby.monitor.config import MonitorConfig
from standby.monitor.runner import MonitorRunner
from standby.monitor.status import current_status
from support.monitor_receivers import FakeEHR, free_port, smtp_server
from support.monitor_site import PASSWORD
from support.web_browser import SHOTS, chromium, served


def wait_for(what: str, check: Callable[[], bool], limit_s: float = 60.0) -> None:
    """Poll until `check()` (a deadline only against hanging, not a timed assertion)."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.05)


@contextmanager
def simulated_ehr(tmp: Path) -> Iterator[tuple[str, Callable[[bool], None]]]:
    """standby's simulated EHR (its fault switch cuts it) when installed; else a fake."""
    try:
        from standby.sim.server import run_in_thread
    except ImportError:
        with FakeEHR() as fake:

            def cut(outage: bool) -> None:
                fake.outage = outage

            yield fake.url, cut
        return
    from standby.store import open_store

    ehr_store = open_store(db=tmp / "ehr.db")
    url, handle = run_in_thread(ehr_store)
    try:
        yield url, lambda outage: handle.set_faults(outage=outage)
    finally:
        handle.stop()
        ehr_store.close()


def _app(site: Any, cfg: MonitorConfig) -> Any:
    site.state.web.monitor_config = cfg  # the recipients of this test
    return site


def login(browser: Any, base: str, username: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.mark.browser
@pytest.mark.slow
def test_outage_to_downtime_banner_email_recovery_and_confirmation(
    store: Any, site: Any, tmp_path: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with (
        simulated_ehr(tmp_path) as (ehr_url, cut),
        smtp_server() as (smtp_port, received),
        chromium() as browser,
    ):
        web_port = free_port()
        base = f"http://127.0.0.1:{web_port}"
        cfg = MonitorConfig(
            interval_s=0.2,
            timeout_s=2.0,
            recipients=("unit.4w@hospital.test",),
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            status_url=f"{base}/status",
        )
        stack = served(_app(site, cfg), web_port)
        stack.__enter__()
        runner = MonitorRunner(store, cfg, ehr_url).start()
        try:
            page = login(browser, base, "nurse.lee")
            wait_for("a healthy round", lambda: runner.rounds >= 1)
            page.goto(f"{base}/monitor")
            assert page.locator("#downtime-banner").count() == 0
            page.screenshot(path=str(SHOTS / "monitor-1-normal.png"), full_page=True)

            cut(True)  # the simulated EHR's fault switch: it stops answering
            wait_for("downtime", lambda: current_status(store).state == "downtime")
            page.goto(f"{base}/monitor")
            banner = page.locator("#downtime-banner")
            assert banner.is_visible()
            text = banner.inner_text()
            assert "EHR DOWNTIME" in text and "since" in text and "What to do" in text
            colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(74, 20, 140)"  # the downtime purple, nothing else uses it
            page.screenshot(path=str(SHOTS / "monitor-2-downtime-banner.png"), full_page=True)

            wait_for("declaration email", lambda: len(received) >= 1)
            rcpts, msg = received[0]
            assert rcpts == ["unit.4w@hospital.test"]
            assert msg["Subject"].startswith("EHR DOWNTIME declared")
            assert f"{base}/status" in msg.get_payload()

            cut(False)  # the EHR comes back: recovery is only proposed
            wait_for("recovery proposed", lambda: current_status(store).state == "recovering")
            ic = login(browser, base, "ic.jones")
            incident_id = current_status(store).incident_id
            ic.goto(f"{base}/monitor/incidents/{incident_id}")
            assert "RECOVERY PROPOSED" in ic.locator("#downtime-banner").inner_text()
            ic.screenshot(path=str(SHOTS / "monitor-3-recovery-proposed.png"), full_page=True)
            ic.fill("input[name=message]", "EHR is back; start back-entry")
            ic.click("#confirm-end")
            ic.wait_for_load_state()
            assert "not ticked" in ic.locator("#end-checklist").inner_text()
            ic.screenshot(path=str(SHOTS / "monitor-3b-end-confirmation.png"), full_page=True)
            ic.click("#confirm-end-anyway")  # the checklist is not ticked: confirm once more
            wait_for("normal", lambda: current_status(store).state == "normal")
            ic.wait_for_load_state()
            assert ic.locator("#downtime-banner").count() == 0
            ic.screenshot(path=str(SHOTS / "monitor-4-ended.png"), full_page=True)
            wait_for("end email", lambda: any("ended" in m["Subject"] for _, m in received))
        finally:
            runner.stop()
            stack.__exit__(None, None, None)


@pytest.mark.browser
@pytest.mark.slow
def test_drill_is_labelled_on_pages_and_the_status_page(store: Any, site: Any) -> None:
    from standby.clock import now as utcnow
    from standby.monitor import drills

    SHOTS.mkdir(parents=True, exist_ok=True)
    cfg = MonitorConfig(interval_s=0.2)
    with chromium() as browser, served(_app(site, cfg), free_port()) as base:
        runner = MonitorRunner(store, cfg, None, channels={}).start()
        try:
            drills.start(store, "ic.jones", utcnow())
            wait_for("drill declared", lambda: current_status(store).state == "downtime")
            page = login(browser, base, "nurse.lee")
            page.goto(f"{base}/monitor")
            banner = page.locator("#downtime-banner")
            assert banner.get_attribute("data-drill") == "true"
            assert banner.inner_text().startswith("DRILL")
            page.screenshot(path=str(SHOTS / "monitor-5-drill-banner.png"), full_page=True)
            phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            phone.goto(f"{base}/status")  # no login
            assert phone.locator("#downtime-banner").inner_text().startswith("DRILL")
            phone.screenshot(path=str(SHOTS / "monitor-6-status-page-drill-phone.png"))
        finally:
            runner.stop()
