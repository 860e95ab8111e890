"""In Debian's Chromium: a health information analyst opens back-entry's review queue with
one conflict and one rejection, compares the conflict with what the EHR has now, re-sends
it after correcting the bed, discards the rejection with a reason, and reads the
reconciliation report. Screenshots: /tmp/shots/review/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standby.recovery import state
from standby.recovery.state import Status
from support.review_site import ReviewSite, make
from support.web_browser import chromium, log_in, served

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/review")
WINDOW = {"width": 1280, "height": 900}


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def rs(tmp_path: Path) -> Iterator[ReviewSite]:
    site = make(tmp_path)
    yield site
    site.close()


def test_the_queue_is_resolved_in_a_browser(rs: ReviewSite) -> None:
    with served(rs.web.app) as base, chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        log_in(page, base, "him")
        page.get_by_role("link", name="Review queue").click()
        page.wait_for_url(f"{base}/review")
        assert page.locator("#queue-conflict tbody tr").count() == 1
        assert page.locator("#queue-rejected tbody tr").count() == 1
        _shot(page, "1-queue")

        page.locator(f"#row-{rs.conflict.id}").get_by_role("link", name="Review").click()
        page.wait_for_url(f"{base}/review/{rs.conflict.id}")
        assert "onleave" in page.locator("#ehr").inner_text()
        assert "MRN000000" in page.locator("#patient-header").inner_text()
        _shot(page, "2-conflict")
        page.locator("#field-location_id").fill("bed-1")
        page.locator("#resend-reason").fill("bed 1, as the EHR now shows the patient back")
        page.locator("#resend").click()
        page.wait_for_url(f"{base}/review?done=resent*")
        assert page.locator("#queue-conflict tbody tr.empty, #queue-conflict td.empty").count() == 1
        _shot(page, "3-after-resend")

        page.locator(f"#row-{rs.rejected.id}").get_by_role("link", name="Review").click()
        page.wait_for_url(f"{base}/review/{rs.rejected.id}")
        assert page.locator("#ehr-outcome").count() == 1
        _shot(page, "4-rejection")
        page.locator("#discard").click()  # no reason: the browser asks for one
        assert page.url == f"{base}/review/{rs.rejected.id}"
        page.locator("#discard-reason").fill("the transfer was entered in the EHR's ADT at 09:10")
        page.locator("#discard").click()
        page.wait_for_url(f"{base}/review?done=discarded*")
        assert page.locator("#queue-rejected td.empty").count() == 1
        _shot(page, "5-after-discard")

        page.locator("#reconciliation-link").click()
        page.wait_for_url(f"{base}/review/reconciliation")
        statement = page.locator("#statement").inner_text()
        # the correction is filed by the next back-entry run: not complete until then
        assert statement.startswith("NOT COMPLETE: 1 of 4")
        _shot(page, "6-reconciliation")
    assert state.get(rs.store, rs.conflict.id).status is Status.PENDING  # type: ignore[union-attr]
    assert state.get(rs.store, rs.rejected.id).status is Status.DISCARDED  # type: ignore[union-attr]
