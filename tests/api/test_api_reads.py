"""What the API answers: the CapabilityStatement, read, vread, history, search and its
result parameters, paging while the replica changes, `$everything`, "data as of", and
every error as an OperationOutcome."""

from __future__ import annotations

from typing import Any

from standby.api.capability import search_params
from standby.api.responses import AS_OF_HEADER, DATA_AS_OF_SYSTEM
from standby.fhir.search_registry import params_for
from support.fhir_api import ApiSite, vital
from support.fhir_examples import example


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def test_the_capability_statement_tells_the_truth(api_site: ApiSite) -> None:
    cs = api_site.http().get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    assert cs["format"] == ["application/fhir+json", "json"]
    rest = cs["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    writes = {"create", "update", "patch", "delete"}
    for r in by_type.values():
        assert not writes & {i["code"] for i in r["interaction"]}, r["type"]
        assert r["updateCreate"] is False and r["conditionalDelete"] == "not-supported"
    assert {i["code"] for i in rest["interaction"]} == {"history-system"}
    obs = {p["name"] for p in by_type["Observation"]["searchParam"]}
    # exactly what the store indexes, with the special parameters and aliases
    assert obs == {"_id", "_lastUpdated", *params_for("Observation"), "patient"}
    assert obs == {"_id", "_lastUpdated"} | {n for n, _ in search_params("Observation")}
    assert "Observation:subject" in by_type["Observation"]["searchInclude"]
    assert by_type["Patient"]["operation"][0]["name"] == "everything"
    token = rest["security"]["extension"][0]["extension"][0]["valueUri"]
    assert token == "http://testserver/fhir/auth/token"


def test_read_and_vread_send_the_stored_bytes_with_the_data_as_of(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    api_site.store.upsert(vital("hr-1", "pat-1", 1, 72.250, version="2"))
    r = c.get("/fhir/Observation/hr-1", headers=h)
    assert r.status_code == 200
    current = api_site.store.read("Observation", "hr-1")
    assert current is not None and r.content == current.body
    assert r.headers["etag"] == 'W/"2"'
    assert r.headers[AS_OF_HEADER] not in ("", "unknown")
    old = c.get("/fhir/Observation/hr-1/_history/1", headers=h)
    assert old.status_code == 200 and old.json()["valueQuantity"]["value"] == 61.5
    hist = c.get("/fhir/Observation/hr-1/_history", headers=h).json()
    assert hist["type"] == "history" and hist["total"] == 2
    assert [e["response"]["etag"] for e in hist["entry"]] == ['W/"2"', 'W/"1"']
    assert [e["request"]["method"] for e in hist["entry"]] == ["PUT", "POST"]
    api_site.store.tombstone("Observation", "hr-2", version_id="2")
    assert c.get("/fhir/Observation/hr-2", headers=h).status_code == 410
    for path in ("/fhir/Observation/nope", "/fhir/Observation/hr-1/_history/9", "/fhir/Nope/1"):
        r = c.get(path, headers=h)
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome", path


def test_a_patients_vitals_newest_first_page_by_page(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    url: str | None = "/fhir/Observation?patient=pat-1&category=vital-signs&_sort=-date&_count=3"
    pages = []
    while url:
        b = c.get(url, headers=h).json()
        assert b["total"] == 7
        tag = b["meta"]["tag"][0]
        assert tag["system"] == DATA_AS_OF_SYSTEM and tag["code"] != "unknown"
        pages.append(_ids(b))
        if len(pages) > 1:  # a later page names itself, and the page before it
            assert b["link"][0] == {"relation": "self", "url": url}
            assert [x["relation"] for x in b["link"]][-1] == "previous"
        url = _next(b)
    assert pages == [["hr-7", "hr-6", "hr-5"], ["hr-4", "hr-3", "hr-2"], ["hr-1"]]


def test_paging_stays_stable_while_the_replica_changes(api_site: ApiSite) -> None:
    """Page 1 is read; then the sync writes a newer vital (sorts first), updates one of
    page 2 and deletes one of page 3. The pages still form the answer as of page 1: every
    resource of page 1's moment once, in that order, none new; each as it is now (the
    updated one at its new version, the deleted one left out)."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    first = c.get("/fhir/Observation?patient=pat-1&_sort=-date&_count=3", headers=h).json()
    store = api_site.store
    store.upsert(vital("hr-8", "pat-1", 8, 80.0))
    store.upsert(vital("hr-4", "pat-1", 4, 140.0, version="2"))
    store.tombstone("Observation", "hr-1", version_id="2")
    seen = _ids(first)
    values = {}
    url = _next(first)
    while url:
        b = c.get(url, headers=h).json()
        assert b["total"] == 7
        seen += _ids(b)
        values.update(
            {
                e["resource"]["id"]: e["resource"]["valueQuantity"]["value"]
                for e in b.get("entry", [])
            }
        )
        url = _next(b)
    assert seen == ["hr-7", "hr-6", "hr-5", "hr-4", "hr-3", "hr-2"]  # hr-1 deleted since
    assert values["hr-4"] == 140.0
    # a new search sees the replica as it is now
    now = c.get("/fhir/Observation?patient=pat-1&_sort=-date&_count=3", headers=h).json()
    assert _ids(now)[0] == "hr-8" and now["total"] == 7


def test_a_page_is_only_for_the_client_that_searched(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    api_site.register("other", "system/*.read")
    c = api_site.http()
    b = c.get("/fhir/Observation?_count=2", headers=api_site.headers("ward")).json()
    nxt = _next(b)
    assert nxt is not None
    r = c.get(nxt, headers=api_site.headers("other"))
    assert r.status_code == 410 and r.json()["resourceType"] == "OperationOutcome"


def test_a_page_opens_nothing_of_a_type_the_scope_does_not_cover(api_site: ApiSite) -> None:
    """A client allowed Patient but not Observation cannot read another search's pages
    of Observations by naming them on a Patient search."""
    api_site.register("both", "system/Patient.rs system/Observation.rs")
    c = api_site.http()
    b = c.get("/fhir/Observation?_count=2", headers=api_site.headers("both")).json()
    nxt = _next(b)
    assert nxt is not None
    sneaky = nxt.replace("/fhir/Observation?", "/fhir/Patient?")
    narrow = api_site.headers("both", scope="system/Patient.rs")
    r = c.get(sneaky, headers=narrow)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    assert "entry" not in r.json()


def test_include_revinclude_summary_count_and_elements(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    b = c.get(
        "/fhir/Encounter?patient=pat-1&_include=Encounter:location&_include=Encounter:subject"
        "&_include=Encounter:practitioner&_revinclude=MedicationRequest:encounter",
        headers=h,
    ).json()
    assert _ids(b) == ["enc-1"]
    assert sorted(_ids(b, "include")) == ["dr-1", "loc-3w", "pat-1"]
    b = c.get("/fhir/Patient?_id=pat-1&_revinclude=Observation:patient&_count=5", headers=h).json()
    assert _ids(b) == ["pat-1"] and len(_ids(b, "include")) == 7
    b = c.get(
        "/fhir/MedicationRequest?patient=pat-1&_include=MedicationRequest:medication", headers=h
    ).json()
    assert _ids(b, "include") == ["med-1"]
    it = c.get(
        "/fhir/MedicationRequest?_id=mr-1&_include:iterate=MedicationRequest:medication", headers=h
    ).json()
    assert _ids(it, "include") == ["med-1"]
    count = c.get("/fhir/Observation?patient=pat-1&_summary=count", headers=h).json()
    assert count["total"] == 7 and "entry" not in count
    zero = c.get("/fhir/Observation?patient=pat-1&_count=0", headers=h).json()
    assert zero["total"] == 7 and "entry" not in zero and len(zero["link"]) == 1
    one = c.get("/fhir/_history?_count=0", headers=h)
    assert one.status_code == 200 and len(one.json()["entry"]) == 1
    el = c.get("/fhir/Observation?_id=hr-3&_elements=valueQuantity", headers=h).json()
    res = el["entry"][0]["resource"]
    # and what R4 makes mandatory (search.html#elements): status and code
    assert set(res) == {"resourceType", "id", "meta", "valueQuantity", "status", "code"}
    assert res["meta"]["tag"][-1]["code"] == "SUBSETTED"
    bad = c.get("/fhir/Observation?_include=Observation:status", headers=h)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_search_errors_are_outcomes(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    for url, status in [
        ("/fhir/Observation?nonsense=1", 400),
        ("/fhir/Observation?date=yesterday", 400),
        ("/fhir/Observation?_count=many", 400),
        ("/fhir/Observation?_summary=short", 400),
        ("/fhir/Observation?_format=xml", 406),
    ]:
        r = c.get(url, headers=h)
        assert r.status_code == status, (url, r.text)
        assert r.json()["resourceType"] == "OperationOutcome", url
    xml = c.get("/fhir/Patient/pat-1", headers={**h, "Accept": "application/fhir+xml"})
    assert xml.status_code == 406


def test_modifiers_the_store_supports(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()

    def ids(q: str) -> list[str]:
        r = c.get(f"/fhir/{q}", headers=h)
        assert r.status_code == 200, r.text
        return sorted(_ids(r.json()))

    assert ids("Patient?name=alp") == ["pat-1"]
    assert ids("Patient?name:exact=Alpha") == ["pat-1"]
    assert ids("Patient?name:exact=Alp") == []
    assert ids("Patient?name:contains=et") == ["pat-2"]
    assert ids("Observation?subject:Patient=pat-2") == ["hr-other"]
    assert ids("Observation?date=ge2026-11-06&patient=pat-1") == ["hr-6", "hr-7"]
    assert ids("Observation?code=http://loinc.org|8867-4&patient=pat-2") == ["hr-other"]


def test_history_of_a_type_and_the_system_since_an_instant(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    api_site.register("obs-only", "system/Observation.rs")
    c = api_site.http()
    h = api_site.headers("ward")
    api_site.store.upsert(vital("hr-9", "pat-1", 9, 90.0))
    b = c.get("/fhir/Observation/_history?_since=2026-11-08T00:00:00Z", headers=h).json()
    assert [e["resource"]["id"] for e in b["entry"]] == ["hr-9"]
    everything = []
    url: str | None = "/fhir/_history?_count=4"
    while url:
        b = c.get(url, headers=h).json()
        everything += [e["fullUrl"].split("/fhir/")[1] for e in b["entry"]]
        url = _next(b)
    assert len(everything) == len(set(everything)) == 16
    only = c.get("/fhir/_history?_count=100", headers=api_site.headers("obs-only")).json()
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Observation"}


def test_everything_of_a_patient(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    c = api_site.http()
    b = c.get("/fhir/Patient/pat-1/$everything", headers=api_site.headers("ward")).json()
    got = sorted(e["fullUrl"].split("/fhir/")[1] for e in b["entry"])
    assert got == sorted(
        [
            "Patient/pat-1",
            "Encounter/enc-1",
            "MedicationRequest/mr-1",
            *(f"Observation/hr-{d}" for d in range(1, 8)),
            "Location/loc-3w",  # referenced, in no patient's compartment
            "Practitioner/dr-1",
            "Medication/med-1",
        ]
    )
    assert "Observation/hr-other" not in got and "Patient/pat-2" not in got
    narrowed = c.get(
        "/fhir/Patient/pat-1/$everything?_type=Patient,Encounter", headers=api_site.headers("ward")
    ).json()
    assert sorted(_ids(narrowed)) == ["enc-1", "pat-1"]
    assert (
        c.get("/fhir/Patient/none/$everything", headers=api_site.headers("ward")).status_code == 404
    )


def test_a_last_updated_in_another_zone_is_sent_in_gmt(api_site: ApiSite) -> None:
    """An EHR may stamp `meta.lastUpdated` with its own offset (several R4 examples do);
    `Last-Modified` is HTTP's GMT date, never a 500."""
    from support.fhir_api import resource

    api_site.store.upsert(
        resource(
            "Patient", "pat-z", meta={"versionId": "1", "lastUpdated": "2026-11-01T10:00:00+10:00"}
        )
    )
    api_site.register("ward", "system/*.read")
    r = api_site.http().get("/fhir/Patient/pat-z", headers=api_site.headers("ward"))
    assert r.status_code == 200, r.text
    assert r.headers["last-modified"] == "Sun, 01 Nov 2026 00:00:00 GMT"


def test_unknown_result_parameters_are_ignored_and_said_so(api_site: ApiSite) -> None:
    """A client's own `_name` (fhirpy sends `_totalMethod`) is ignored with a warning and
    left out of the self link; criteria that would widen the answer are refused."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    b = c.get("/fhir/Observation?patient=pat-2&_totalMethod=count", headers=h).json()
    assert _ids(b) == ["hr-other"]
    notes = [e["resource"] for e in b["entry"] if e["search"]["mode"] == "outcome"]
    assert "_totalMethod" in notes[0]["issue"][0]["diagnostics"]
    assert "_totalMethod" not in b["link"][0]["url"]
    strict = c.get(
        "/fhir/Observation?patient=pat-2&_totalMethod=count",
        headers={**h, "Prefer": "handling=strict"},
    )
    assert strict.status_code == 400
    for q in ("_has:Observation:patient:code=1", "_text=fever", "_tag=x"):
        r = c.get(f"/fhir/Patient?{q}", headers=h)
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", q


def test_a_document_is_found_by_its_master_identifier(api_site: ApiSite) -> None:
    # DocumentReference's `identifier` is `masterIdentifier | identifier` in R4
    # (documentreference.html#search); the official example has one of each
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    api_site.store.upsert(example("DocumentReference-example.json"))
    for value in ("urn:oid:1.3.6.1.4.1.21367.2005.3.7", "urn:oid:1.3.6.1.4.1.21367.2005.3.7.1234"):
        r = c.get(f"/fhir/DocumentReference?identifier=urn:ietf:rfc:3986|{value}", headers=h)
        assert r.status_code == 200 and _ids(r.json()) == ["example"], value
    cs = c.get("/fhir/metadata").json()
    doc = next(r for r in cs["rest"][0]["resource"] if r["type"] == "DocumentReference")
    assert {"name": "identifier", "type": "token"}.items() <= next(
        p for p in doc["searchParam"] if p["name"] == "identifier"
    ).items()
