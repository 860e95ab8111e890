"""standby.web.access: a patient outside the user's units is refused on their unit alone,
before their summary is built."""

from __future__ import annotations

from typing import Any

import pytest

from standby import clinical
from standby.accounts import users as accounts
from standby.clinical import read_cache, summary
from support.web_site import PASSWORD, Hospital


def _refuse_building(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []

    def build(store: Any, patient_id: str, *args: Any, **kw: Any) -> Any:
        built.append(patient_id)
        raise AssertionError("the summary was built")

    monkeypatch.setattr(read_cache, "build_summary", build)
    monkeypatch.setattr(summary, "build_summary", build)
    return built


def test_a_refused_patient_is_not_read(hospital: Hospital, monkeypatch: pytest.MonkeyPatch) -> None:
    p = clinical.unit_census(hospital.store, hospital.other_unit_id, hospital.clock.now).patients[0]
    c = hospital.login("nurse")
    built = _refuse_building(monkeypatch)
    r = c.get(f"/patients/{p.id}")
    assert r.status_code == 403 and p.mrn not in r.text
    assert c.get(f"/patients/{p.id}/print.pdf").status_code == 403
    assert built == []


def test_the_unit_is_not_read_for_an_account_that_sees_every_unit(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    accounts.add_user(hospital.store, "everywhere", PASSWORD, role="physician", units=["*"])
    c = hospital.login("everywhere")
    looked_up: list[str] = []
    real = read_cache.patient_identity

    def identity(store: Any, patient_id: str, now: Any) -> Any:
        looked_up.append(patient_id)
        return real(store, patient_id, now)

    monkeypatch.setattr(read_cache, "patient_identity", identity)
    assert c.get(f"/patients/{p.id}").status_code == 200
    assert c.get("/patients/no-such-id").status_code == 404
    assert looked_up == []


def test_search_marks_only_the_patients_outside_the_users_units(hospital: Hospital) -> None:
    now = hospital.clock.now
    mine = clinical.unit_census(hospital.store, hospital.unit_id, now).patients[0]
    other = clinical.unit_census(hospital.store, hospital.other_unit_id, now).patients[0]
    c = hospital.login("nurse")
    mark = '<span class="outside small nowrap">outside your units</span>'
    for p, outside in ((mine, False), (other, True)):
        text = c.get("/search", params={"q": p.mrn}).text
        row = text[text.index(f'data-patient="{p.id}"') :].split("</tr>")[0]
        assert (mark in row) is outside, p.id
        # what breaking the glass means is said once, above the list, not on each row
        assert text.count("breaking the glass") == (1 if outside else 0), p.id
        assert "break the glass" not in row
