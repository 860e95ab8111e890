"""Back-entry started from the reconciliation page: only by the incident commander or
health information staff, only once the downtime has ended, one run at a time, audited;
the run is `standby recover run`'s (the registrar's decisions frozen, each entry once)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from standby.accounts import repository as accounts
from standby.accounts.records import AuditQuery
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.recovery import matches, review, state
from standby.recovery.state import Status
from standby.web.backentry import runner_of
from support.review_site import ReviewSite, make
from support.web_site import csrf_of


@pytest.fixture
def rs(tmp_path: Path) -> Iterator[ReviewSite]:
    site = make(tmp_path, registration=True)
    yield site
    site.close()


def _audit(rs: ReviewSite) -> list[str]:
    return [
        a.detail
        for a in accounts.search_audit(rs.store, AuditQuery(action="back-entry"))
        if a.action == "back-entry"
    ]


def _file(c: Any) -> Any:
    page = c.get("/review/reconciliation")
    return c.post(
        "/review/reconciliation/file",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def _end_downtime(rs: ReviewSite) -> None:
    now = rs.web.clock.now
    downtime.declare(rs.store, MonitorConfig(), "ic", now - timedelta(hours=2), reason="EHR down")
    downtime.confirm_end(rs.store, MonitorConfig(), "ic", now - timedelta(minutes=5))


def _registration(rs: ReviewSite) -> str:
    (held,) = {b.patient_key for b in review.queue(rs.store, Status.HELD)}
    return held


def test_the_button_is_refused_before_the_downtime_has_ended(rs: ReviewSite) -> None:
    c = rs.web.login("him")
    page = c.get("/review/reconciliation").text
    assert 'id="file-now-button"' not in page
    assert "no downtime has been ended" in page
    downtime.declare(rs.store, MonitorConfig(), "ic", rs.web.clock.now, reason="EHR down")
    r = _file(c)
    assert r.status_code == 409
    assert "Back-entry did not start: the downtime is not over" in r.text
    assert not runner_of(rs.web.app.state).running
    assert runner_of(rs.web.app.state).last is None
    assert [d for d in _audit(rs) if d.startswith("refused: the downtime is not over")]


def test_a_charge_nurse_reviews_but_does_not_start_back_entry(rs: ReviewSite) -> None:
    _end_downtime(rs)
    c = rs.web.login("charge")
    assert 'id="file-now-button"' not in c.get("/review/reconciliation").text
    assert _file(c).status_code == 403
    assert runner_of(rs.web.app.state).last is None


def test_health_information_files_the_downtime_once_it_has_ended(rs: ReviewSite) -> None:
    _end_downtime(rs)
    reg = _registration(rs)
    matches.decide(
        rs.store,
        reg,
        ehr_patient_id=None,
        by="registrar",
        reason="a new patient",
        now=rs.web.clock.now,
    )
    c = rs.web.login("him")
    assert 'id="file-now-button"' in c.get("/review/reconciliation").text
    r = _file(c)
    assert r.status_code == 303 and r.headers["location"] == "/review/reconciliation?started=1"
    runner = runner_of(rs.web.app.state)
    runner.wait(60)
    assert runner.last is not None and runner.last.ok
    assert runner.last.outcome.startswith("2 confirmed, 0 conflict, 0 rejected, 0 held")
    assert state.get(rs.store, reg).status is Status.CONFIRMED  # type: ignore[union-attr]
    assert matches.decision(rs.store, reg).frozen_at is not None  # type: ignore[union-attr]
    page = c.get("/review/reconciliation").text
    assert "finished" in page and "2 confirmed" in page
    assert "started from the reconciliation page" in _audit(rs)
    # a second run sends nothing again: the EHR's answers are read back, not duplicated
    assert _file(c).status_code == 303
    runner.wait(60)
    assert runner.last.outcome.startswith("0 confirmed")
