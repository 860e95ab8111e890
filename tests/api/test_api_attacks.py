"""An attacker with network access to the node and, at most, a client of low scope (issue
19's attack pass): each test is one attack that worked before its fix."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from support.fhir_api import ApiSite

ASYNC = {"Prefer": "respond-async"}


def _outcome(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body


def _manifest(api_site: ApiSite, kickoff: Any, headers: dict[str, str]) -> dict[str, Any]:
    assert kickoff.status_code == 202, kickoff.text
    url = kickoff.headers["content-location"].replace("http://testserver", "")
    c = api_site.http()
    for _ in range(100):
        r = c.get(url, headers=headers)
        if r.status_code == 200:
            return dict(r.json())
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_a_location_only_client_gets_no_patients_from_a_patient_export(
    api_site: ApiSite,
) -> None:
    """`Patient/$export` without `_type` used to add Patient to the types written whatever
    the scope: a bed board allowed Location only downloaded every Patient resource."""
    api_site.register("beds", "system/Location.read")
    h = api_site.headers("beds")
    c = api_site.http()
    m = _manifest(api_site, c.get("/fhir/Patient/$export", headers={**h, **ASYNC}), h)
    assert {o["type"] for o in m["output"]} == {"Location"}
    for o in m["output"]:
        lines = c.get(o["url"].replace("http://testserver", ""), headers=h).text.splitlines()
        assert {json.loads(line)["resourceType"] for line in lines} == {"Location"}
    # a client that may read and search Patient still gets them without naming the type
    api_site.register("ward", "system/*.read")
    w = api_site.headers("ward")
    m = _manifest(api_site, c.get("/fhir/Patient/$export", headers={**w, **ASYNC}), w)
    assert "Patient" in {o["type"] for o in m["output"]}


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Observation?_count=%C2%B2",  # "²" passes str.isdigit, not int()
        "/fhir/Observation?_getpages=x&_getpagesoffset=%C2%B2",
        "/fhir/Observation/_history?_count=%C2%B2",
        "/fhir/_history?_getpagesoffset=%C2%B2",
        "/fhir/_history?_getpagesoffset=" + "9" * 30,  # past SQL's BIGINT
        "/fhir/_history?_since=yesterday",
        "/fhir/Observation/_history?_since=2026-99-99T00:00:00Z",
        "/fhir/Patient/pat-1/_history?_since=garbage",
        "/fhir/Patient/pat-1/$everything?_since=garbage",
    ],
)
def test_odd_numbers_and_instants_are_400s_not_500s(api_site: ApiSite, path: str) -> None:
    api_site.register("ward", "system/*.read")
    r = api_site.http().get(path, headers=api_site.headers("ward"))
    oo = _outcome(r, 400)
    assert "internal error" not in oo["issue"][0]["diagnostics"]


def test_an_export_with_an_odd_since_is_a_400(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = {**api_site.headers("ward"), **ASYNC}
    _outcome(api_site.http().get("/fhir/$export?_since=last-week", headers=h), 400)


def test_a_count_past_the_limit_is_cut_to_it(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    r = api_site.http().get(
        "/fhir/Observation?_count=" + "9" * 5000,  # past int()'s 4,300 digits: was a 500
        headers=api_site.headers("ward"),
    )
    assert r.status_code == 200 and r.json()["total"] == 8
