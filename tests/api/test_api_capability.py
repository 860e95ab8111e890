"""The CapabilityStatement against what no one here wrote: it validates as an R4B
CapabilityStatement (`fhir.resources`), what it advertises is what search accepts (every
parameter, `_include` and `_revinclude` it lists; one it does not list is a 400), its
`searchRevInclude` follows R4's reference targets, its operations are the ones served, and
its security section is what SMART discovery asks for."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest

from support.fhir_api import ApiSite
from support.r4_definitions import reference_targets, search_codes
from support.r4b import validate

VALUE = {"token": "x", "string": "x", "date": "2026-01-01", "reference": "Patient/x"}


def _resources(cs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in cs["rest"][0]["resource"]}


def test_the_reference_targets_are_r4s() -> None:
    held = json.loads(files("standby.api").joinpath("r4_targets.json").read_text())
    assert held == reference_targets()


def test_it_validates_and_lists_what_is_served(api_site: ApiSite) -> None:
    c = api_site.http()
    cs = c.get("/fhir/metadata").json()
    validate(cs)
    rest = cs["rest"][0]
    by_type = _resources(cs)
    # revincludes: what can point at the type in R4 (and only that), for every type
    patient = set(by_type["Patient"]["searchRevInclude"])
    assert {"Observation:patient", "Observation:subject", "Encounter:patient"} <= patient
    assert "Encounter:location" not in patient and "MedicationRequest:medication" not in patient
    assert "Encounter:location" in by_type["Location"]["searchRevInclude"]
    assert "MedicationRequest:medication" in by_type["Medication"]["searchRevInclude"]
    assert "DiagnosticReport:result" in by_type["Observation"]["searchRevInclude"]
    assert by_type["Organization"]["searchRevInclude"], "not only five types list them"
    # operations: only where served, each with its definition
    assert [o["name"] for o in rest["operation"]] == ["export"]
    assert {o["name"] for o in by_type["Patient"]["operation"]} == {
        "everything",
        "export",
        "summary",
    }
    for r in (rest, *by_type.values()):
        for op in r.get("operation", []):
            assert op["definition"].startswith("http://hl7.org/fhir/"), op
    assert all(r["conditionalRead"] == "full-support" for r in by_type.values())
    # SMART: the service coded, the token endpoint in oauth-uris, the same as discovery's
    security = rest["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = security["extension"][0]
    assert uris["url"].endswith("/StructureDefinition/oauth-uris")
    token = {e["url"]: e["valueUri"] for e in uris["extension"]}["token"]
    smart = c.get("/fhir/.well-known/smart-configuration").json()
    assert token == smart["token_endpoint"] == "http://testserver/fhir/auth/token"


@pytest.mark.slow  # ~20 s: every parameter of every type
def test_every_advertised_parameter_is_accepted_and_no_other(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    cs = c.get("/fhir/metadata").json()
    refused = []
    for rtype, r in _resources(cs).items():
        for p in r["searchParam"]:
            q = f"{p['name']}={VALUE[p['type']]}"
            if c.get(f"/fhir/{rtype}?{q}", headers=h).status_code != 200:
                refused.append(f"{rtype}?{q}")
        for inc in r["searchInclude"]:
            if c.get(f"/fhir/{rtype}?_id=x&_include={inc}", headers=h).status_code != 200:
                refused.append(f"{rtype}?_include={inc}")
        for inc in r["searchRevInclude"]:
            if c.get(f"/fhir/{rtype}?_id=x&_revinclude={inc}", headers=h).status_code != 200:
                refused.append(f"{rtype}?_revinclude={inc}")
    assert refused == []
    # R4's parameters that are not advertised are refused, not ignored
    for rtype in ("Observation", "Patient", "Encounter", "MedicationRequest"):
        listed = {p["name"] for p in _resources(cs)[rtype]["searchParam"]}
        for name in sorted(search_codes(rtype) - listed):
            r = c.get(f"/fhir/{rtype}?{name}=x", headers=h)
            assert r.status_code == 400, f"{rtype}?{name}"
            assert r.json()["resourceType"] == "OperationOutcome"
    # a system-level operation not listed is not served
    assert c.get("/fhir/$everything", headers=h).status_code == 404
