"""What a read costs beyond the store: a Patient's audit line names the patient from the
stored row, without parsing the body it sends as stored."""

from __future__ import annotations

from typing import Any

import pytest

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.store.base import StoredResource
from support.fhir_api import ApiSite


def test_a_patient_read_is_audited_without_parsing_its_body(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()

    def no_parse(self: StoredResource) -> Any:
        raise AssertionError(f"{self.resource_type}/{self.id} parsed")

    monkeypatch.setattr(StoredResource, "json", no_parse)
    r = c.get("/fhir/Patient/pat-2", headers=h)
    assert r.status_code == 200, r.text
    assert b'"Beta"' in r.content
    lines = repository.search_audit(
        api_site.store, AuditQuery(username=ward.client_id, action="fhir-read")
    )
    assert [(e.page, e.patient_id) for e in lines] == [("/fhir/Patient/pat-2", "pat-2")]
