"""The test harness itself: the second server's adapter (metadata, paging, writes) and the
fault proxy in front of it, so that a sync test failing against it fails for the sync."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.second_server.sources import FhirSource, source_over

pytestmark = pytest.mark.second_server


@pytest.fixture
def second(hospital_dir: Path, tmp_path: Path):
    with source_over("second", hospital_dir, tmp_path) as source:
        yield source


def test_metadata_says_what_the_router_serves(second: FhirSource):
    cs = second.admin.http.get(f"{second.admin.base_url}/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    (rest,) = cs["rest"]
    obs = next(r for r in rest["resource"] if r["type"] == "Observation")
    codes = {i["code"] for i in obs["interaction"]}
    assert {"read", "search-type", "history-instance"} <= codes
    assert "history-type" not in codes and "operation" not in rest


def test_paging_links_reach_every_resource(second: FhirSource, hospital_dir: Path):
    lines = (hospital_dir / "Observation.ndjson").read_bytes().splitlines()
    first = second.admin.http.get(f"{second.base_url}/Observation", params={"_count": "7"}).json()
    nxt = next(x["url"] for x in first["link"] if x["relation"] == "next")
    assert nxt.startswith(second.base_url)  # through the proxy: pages are faulted too
    assert len(second.admin.ids("Observation")) == len(lines)


def test_put_and_delete_change_what_is_served(second: FhirSource):
    pid = sorted(second.admin.ids("Patient"))[0]
    patient = second.admin.read("Patient", pid)
    patient["gender"] = "other"
    stored = second.admin.put(patient)
    assert stored["meta"]["versionId"] != patient["meta"]["versionId"]
    second.admin.delete("Patient", pid)
    assert second.admin.read("Patient", pid) is None
    assert pid not in second.admin.ids("Patient")


def test_the_proxy_cuts_and_matches_no_bare_ids_when_told(second: FhirSource):
    url = f"{second.base_url}/Observation"
    pid = sorted(second.admin.ids("Patient"))[0]
    assert httpx.get(url, params={"patient": pid}).json().get("entry")
    second.proxy.forwarder.bare_ids_match_nothing = True
    assert not httpx.get(url, params={"patient": pid}).json().get("entry")
    assert httpx.get(url, params={"patient": f"Patient/{pid}"}).json().get("entry")
    second.proxy.cut(60)
    with pytest.raises(httpx.TransportError):
        httpx.get(url)
