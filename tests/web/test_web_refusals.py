"""A patient outside the user's units: the refusal shows no identifiers, every refusal is
audited, and a burst of refusals (someone walking ids) raises an alert to the admins."""

from __future__ import annotations

import dataclasses
import html

from standby import clinical
from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.web.app import create_app
from support.web_site import Hospital


def _outsiders(h: Hospital) -> list[str]:
    """The ids of the patients on units other than the nurse's."""
    out = []
    for u in clinical.units(h.store):
        if u.id != h.unit_id:
            census = clinical.unit_census(h.store, u.id, h.clock.now)
            out.extend(p.id for p in census.patients)
    return out


def test_the_refusal_shows_no_identifiers_and_is_audited(hospital: Hospital) -> None:
    pid = (
        clinical.unit_census(hospital.store, hospital.other_unit_id, hospital.clock.now)
        .patients[0]
        .id
    )
    p = hospital.app.state.web.summaries.identity(pid, hospital.clock.now)
    c = hospital.login("nurse")
    pages = [c.get(f"/patients/{pid}"), c.get(f"/patients/{pid}/break-glass")]
    for r in pages:
        assert r.status_code in (200, 403)
        text = html.unescape(r.text)
        assert "outside your units" in text
        for identifier in (p.mrn, p.name, p.dob):
            assert identifier and identifier not in text, identifier
    assert c.get(f"/patients/{pid}/print.pdf").status_code == 403
    refused = repository.search_audit(hospital.store, AuditQuery(action="refused"))
    assert len(refused) >= 2
    assert {(e.username, e.patient_id) for e in refused} == {("nurse", pid)}


def test_walking_many_ids_raises_one_alert_to_the_admins(hospital: Hospital) -> None:
    settings = hospital.settings.model_copy(update={"refusal_alert_count": 3})
    site = dataclasses.replace(
        hospital, app=create_app(settings, hospital.store, clock=hospital.clock), settings=settings
    )
    outsiders = _outsiders(hospital)
    assert outsiders  # with the patients on no unit, more refusals than the alert needs
    c = site.login("nurse")
    walked = [f"pt{i}" for i in range(1, 80)]  # the synthetic hospital's ids, in order
    assert set(outsiders) <= set(walked)
    statuses = {pid: c.get(f"/patients/{pid}").status_code for pid in walked}
    forbidden = {pid for pid, s in statuses.items() if s == 403}
    assert set(outsiders) <= forbidden  # and those on no unit (outpatients)
    assert len(forbidden) >= 4
    refused = repository.search_audit(
        hospital.store, AuditQuery(action="refused", limit=len(walked) + 1)
    )
    assert sorted(e.patient_id or "" for e in refused) == sorted(forbidden)
    alerts = repository.search_audit(hospital.store, AuditQuery(action="refusal-alert"))
    assert [e.username for e in alerts] == ["nurse"]
    notice = site.login("admin").get("/admin/break-glass").text
    assert 'id="refusal-alerts"' in notice and "nurse" in notice
