"""Back-entry's review queue (docs/recovery.md#review-queue): against the simulated EHR
over HTTP, after a back-entry run that left one conflict and one rejection. Each decision
moves the entry's state as the state machine allows, writes an audit line and keeps the
journal append-only (an edit is a correction entry)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby.accounts import repository as accounts
from standby.accounts.records import AuditQuery
from standby.journal import repository as journal
from standby.recovery import state
from standby.recovery.state import Status
from support.review_site import ReviewSite, make
from support.web_site import csrf_of


@pytest.fixture
def rs(tmp_path: Path) -> Iterator[ReviewSite]:
    site = make(tmp_path)
    yield site
    site.close()


def _audit(rs: ReviewSite, action: str) -> list[Any]:
    return [
        a for a in accounts.search_audit(rs.store, AuditQuery(action=action)) if a.action == action
    ]


def test_the_queue_lists_the_conflict_and_the_rejection_with_two_identifiers(
    rs: ReviewSite,
) -> None:
    c = rs.web.login("him")
    r = c.get("/review")
    assert r.status_code == 200
    html = r.text
    conflicts = html.split('id="section-conflict"')[1].split("</section>")[0]
    rejected = html.split('id="section-rejected"')[1].split("</section>")[0]
    assert f"/review/{rs.conflict.id}" in conflicts and rs.rejected.id not in conflicts
    assert f"/review/{rs.rejected.id}" in rejected
    # two identifiers on every line, and the data's age
    assert "BENCH0" in conflicts.upper() and "MRN000000" in conflicts and "1960-01-01" in conflicts
    assert "MRN000001" in rejected
    assert "Data as of" in html
    assert "Transfer" in conflicts and "HTTP 412" in conflicts


def test_a_nurse_without_review_gets_403_and_changes_nothing(rs: ReviewSite) -> None:
    c = rs.web.login("nurse")
    assert c.get("/review").status_code == 403
    assert c.get(f"/review/{rs.conflict.id}").status_code == 403
    assert c.get("/review/reconciliation.pdf").status_code == 403
    page = c.get("/review")  # the refusal page carries the logout form's token
    r = c.post(
        f"/review/{rs.rejected.id}/discard",
        data={"csrf_token": csrf_of(page.text), "discard_reason": "a nurse tries to discard"},
    )
    assert r.status_code == 403
    assert state.get(rs.store, rs.rejected.id).status is Status.REJECTED  # type: ignore[union-attr]


def test_a_charge_nurse_reviews_only_her_units(rs: ReviewSite) -> None:
    mine = rs.web.login("charge")
    assert f"/review/{rs.conflict.id}" in mine.get("/review").text
    other = rs.web.login("charge2", address="10.0.0.2")
    listing = other.get("/review")
    assert listing.status_code == 200 and rs.conflict.id not in listing.text
    assert 'id="hidden"' in listing.text
    assert other.get(f"/review/{rs.conflict.id}").status_code == 403
    r = other.post(
        f"/review/{rs.conflict.id}/discard",
        data={"csrf_token": csrf_of(listing.text), "discard_reason": "not my unit at all"},
    )
    assert r.status_code == 403
    assert state.get(rs.store, rs.conflict.id).status is Status.CONFLICT  # type: ignore[union-attr]


def test_a_conflict_shows_what_was_entered_beside_what_the_ehr_has_now(rs: ReviewSite) -> None:
    c = rs.web.login("him")
    r = c.get(f"/review/{rs.conflict.id}")
    assert r.status_code == 200
    entered = r.text.split('id="entered"')[1].split("</section>")[0]
    ehr = r.text.split('id="ehr"')[1].split("</section>")[0]
    assert "Moved to bed-2" in entered  # in the clinician's words
    assert f"urn:uuid:{rs.conflict.id}" in entered  # the resource back-entry sends
    now = httpx.get(f"{rs.ehr.base}/Encounter/be0").json()
    assert now["status"] == "onleave"
    assert "onleave" in ehr and f"Version <b>{now['meta']['versionId']}</b>" in ehr
    assert "MRN000000" in r.text and "Data as of" in r.text
    assert any(rs.conflict.id in a.detail for a in _audit(rs, "review"))


def test_a_rejection_shows_the_operation_outcome_kept(rs: ReviewSite) -> None:
    c = rs.web.login("him")
    r = c.get(f"/review/{rs.rejected.id}")
    assert r.status_code == 200
    ehr = r.text.split('id="ehr"')[1].split("</section>")[0]
    assert "OperationOutcome" in ehr and 'id="ehr-outcome"' in ehr


def _form(c: Any, url: str) -> dict[str, str]:
    html = c.get(url).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    fields["csrf_token"] = csrf_of(html)
    return fields


def test_a_conflict_re_sent_after_an_edit_is_a_correction_and_goes_pending(
    rs: ReviewSite,
) -> None:
    c = rs.web.login("him")
    form = _form(c, f"/review/{rs.conflict.id}")
    version = httpx.get(f"{rs.ehr.base}/Encounter/be0").json()["meta"]["versionId"]
    assert form["seen_version"] == version
    data = {**form, "field_location_id": "bed-1", "reason": "bed 1 per the charge nurse"}
    r = c.post(f"/review/{rs.conflict.id}/resend", data=data)
    assert r.status_code == 303, r.text
    # sent twice (a lost answer): one correction
    assert c.post(f"/review/{rs.conflict.id}/resend", data=data).status_code == 400
    mine = journal.for_patient(rs.store, "bp0")
    corrections = [e for e in mine if e.corrects == rs.conflict.id]
    assert len(corrections) == 1
    corr = corrections[0]
    assert corr.id == form["correction_id"]
    assert corr.payload["location_id"] == "bed-1" and corr.payload["encounter_version"] == version
    assert corr.author == "him" and corr.performed_at == rs.conflict.performed_at
    assert journal.read(rs.store, rs.conflict.id) == rs.conflict  # never edited in place
    got = state.get(rs.store, rs.conflict.id)
    assert got is not None and got.status is Status.PENDING and got.reviewed_by == "him"
    assert corr.id in (got.review_reason or "")
    enrolled = state.get(rs.store, corr.id)
    assert enrolled is not None and enrolled.status is Status.PENDING
    assert [ev.by for ev in state.events(rs.store, rs.conflict.id)][-1] == "him"
    decisions = _audit(rs, "review-decision")
    assert any(rs.conflict.id in a.detail and corr.id in a.detail for a in decisions)
    # the EHR's version reaches the replica (the sync), and the next run files the correction
    rs.store.update(httpx.get(f"{rs.ehr.base}/Encounter/be0").json())
    rs.ehr.run()
    filed = state.get(rs.store, corr.id)
    assert filed is not None and filed.status is Status.CONFIRMED, filed
    enc = httpx.get(f"{rs.ehr.base}/Encounter/be0").json()
    assert enc["status"] == "onleave"  # what the EHR had is kept
    assert any(loc["location"]["reference"] == "Location/bed-1" for loc in enc["location"])


def test_discarding_needs_a_reason(rs: ReviewSite) -> None:
    c = rs.web.login("him")
    form = _form(c, f"/review/{rs.rejected.id}")
    r = c.post(f"/review/{rs.rejected.id}/discard", data={**form, "discard_reason": "  "})
    assert r.status_code == 400 and "reason" in r.text
    assert state.get(rs.store, rs.rejected.id).status is Status.REJECTED  # type: ignore[union-attr]
    assert not _audit(rs, "review-decision")
    why = "duplicate of the transfer the unit clerk entered at 09:10"
    r = c.post(f"/review/{rs.rejected.id}/discard", data={**form, "discard_reason": why})
    assert r.status_code == 303
    got = state.get(rs.store, rs.rejected.id)
    assert got is not None and got.status is Status.DISCARDED and got.review_reason == why
    assert got.reviewed_by == "him"
    assert any(why in a.detail for a in _audit(rs, "review-decision"))
    # a decided entry leaves the queue and cannot be decided again
    assert rs.rejected.id not in c.get("/review").text
    again = c.post(f"/review/{rs.rejected.id}/entered-by-hand", data={**form, "where": "EHR ADT"})
    assert again.status_code == 400
    assert state.get(rs.store, rs.rejected.id).status is Status.DISCARDED  # type: ignore[union-attr]


def test_entered_by_hand_says_where_and_by_whom(rs: ReviewSite) -> None:
    c = rs.web.login("charge")
    form = _form(c, f"/review/{rs.conflict.id}")
    assert (
        c.post(f"/review/{rs.conflict.id}/entered-by-hand", data={**form, "where": ""}).status_code
        == 400
    )
    where = "EHR ADT screen, by J. Ortiz (unit clerk)"
    r = c.post(f"/review/{rs.conflict.id}/entered-by-hand", data={**form, "where": where})
    assert r.status_code == 303
    got = state.get(rs.store, rs.conflict.id)
    assert got is not None and got.status is Status.ENTERED_BY_HAND
    assert where in (got.review_reason or "") and got.reviewed_by == "charge"


def test_the_reconciliation_page_pdf_and_csv_say_it_is_not_complete(rs: ReviewSite) -> None:
    c = rs.web.login("him")
    page = c.get("/review/reconciliation")
    assert page.status_code == 200
    assert "NOT COMPLETE: 2 of 4 entries" in page.text
    assert c.get("/review/reconciliation.pdf").content.startswith(b"%PDF")
    csv_text = c.get("/review/reconciliation.csv").text
    assert rs.conflict.id in csv_text and rs.rejected.id in csv_text
    assert len(_audit(rs, "reconciliation")) == 3


def test_the_incident_page_of_an_ended_downtime_carries_the_reconciliation(
    rs: ReviewSite,
) -> None:
    from datetime import timedelta

    from standby.monitor import downtime
    from standby.monitor.config import MonitorConfig

    start = rs.conflict.performed_at - timedelta(hours=2)
    iid = downtime.declare(rs.store, MonitorConfig(), "ic", start, reason="EHR down").declared
    downtime.confirm_end(rs.store, MonitorConfig(), "ic", start + timedelta(hours=20))
    c = rs.web.login("him")
    page = c.get(f"/monitor/incidents/{iid}")
    assert page.status_code == 200
    block = page.text.split('id="back-entry"')[1].split("</table>")[0]
    assert "NOT COMPLETE: 2 of 4 entries" in block
    md = c.get(f"/monitor/incidents/{iid}/report.md").text
    assert "## Back-entry (reconciliation)" in md and "NOT COMPLETE: 2 of 4" in md


def test_held_registrations_link_to_the_registrars_page(tmp_path: Path) -> None:
    site = make(tmp_path, registration=True)
    try:
        held = state.list_by_status(site.store, Status.HELD)
        assert len(held) == 2  # the registration and its vital signs
        reg_id = next(b.patient_key for b in held)
        c = site.web.login("him")
        section = c.get("/review").text.split('id="section-held"')[1].split("</section>")[0]
        assert f'href="/registrations/{reg_id}"' in section
        assert "DOE, Trauma" in section and "DT-0001 (downtime)" in section
        # a charge nurse does not see patients on no unit yet
        other = site.web.login("charge", address="10.0.0.3")
        assert reg_id not in other.get("/review").text
    finally:
        site.close()
