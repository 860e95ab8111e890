"""Every answer carries the replica's data-as-of, read from the sync's health (cached a
second per process, as the viewer's header reads it), without the monitor's status."""

from __future__ import annotations

from typing import Any

import pytest

from standby.api.responses import AS_OF_HEADER
from standby.web import header
from support.fhir_api import ApiSite


def test_the_data_as_of_costs_no_query_of_the_monitor_per_answer(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    expected = c.get("/fhir/Patient/pat-1", headers=h).headers[AS_OF_HEADER]
    asked = []

    def counting(store: Any) -> Any:
        asked.append(1)
        return None

    monkeypatch.setattr(header, "downtime_status", counting)
    for _ in range(3):
        r = c.get("/fhir/Patient/pat-1", headers=h)
        assert r.status_code == 200
        assert r.headers[AS_OF_HEADER] == expected != "unknown"
    b = c.get("/fhir/Observation?patient=pat-1", headers=h).json()
    assert b["meta"]["tag"][0]["code"] == expected
    assert asked == []
