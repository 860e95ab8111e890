"""The API against what no one here wrote: FHIR R4's http.html (history, read and vread
headers, conditional read), search.html (`_summary`, `_elements`) and bundle.html, as a
generic client expects them (issue 19's conformance review)."""

from __future__ import annotations

from typing import Any

from support.fhir_api import ApiSite, vital
from support.r4b import validate


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def _pages(c: Any, url: str | None, h: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    while url:
        r = c.get(url, headers=h)
        assert r.status_code == 200, r.text
        b = r.json()
        assert b["type"] == "history"
        entries += b.get("entry", [])
        url = _next(b)
    return entries


def test_type_and_system_history_list_every_version_newest_first(api_site: ApiSite) -> None:
    """http.html#history: "the specified version history, sorted with oldest versions last,
    and including deleted resources"; each entry with request and response."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    store = api_site.store
    store.upsert(vital("hr-1", "pat-1", 9, 70.0, version="2"))
    store.upsert(vital("hr-1", "pat-1", 10, 71.0, version="3"))
    store.tombstone("Observation", "hr-2", version_id="2", last_updated="2026-11-11T00:00:00Z")
    b = c.get("/fhir/Observation/_history?_since=2026-11-07T10:00:00Z", headers=h).json()
    validate(b)
    got = [
        (e["fullUrl"].split("/fhir/")[1], e["response"]["etag"], e["request"]["method"])
        for e in b["entry"]
    ]
    assert got == [
        ("Observation/hr-2", 'W/"2"', "DELETE"),
        ("Observation/hr-1", 'W/"3"', "PUT"),
        ("Observation/hr-1", 'W/"2"', "PUT"),
        ("Observation/hr-7", 'W/"1"', "POST"),  # at _since exactly: "at or after"
    ]
    delete = b["entry"][0]
    assert "resource" not in delete and delete["request"]["url"] == "Observation/hr-2"
    assert b["entry"][2]["resource"]["valueQuantity"]["value"] == 70.0
    assert b["entry"][1]["response"]["status"].startswith("200")
    assert b["entry"][3]["response"]["status"].startswith("201")

    # the system's history pages without repeating or skipping while the replica changes
    first = c.get("/fhir/_history?_count=5", headers=h).json()
    store.upsert(vital("hr-3", "pat-1", 12, 80.0, version="2"))  # arrives mid-paging
    rest = _pages(c, _next(first), h)
    seen = [(e["fullUrl"], e["response"]["etag"]) for e in first["entry"] + rest]
    assert len(seen) == len(set(seen)) == 15 + 3  # 15 first versions, 2 updates, 1 delete
    assert ("http://testserver/fhir/Observation/hr-3", 'W/"2"') not in seen
    now = _pages(c, "/fhir/_history?_count=7", h)
    assert now[0]["fullUrl"].endswith("/Observation/hr-3") and len(now) == 19
    # what history cannot do is said, not ignored
    for q in ("_at=2026-11-01", "_list=x", "patient=pat-1"):
        r = c.get(f"/fhir/Observation/_history?{q}", headers=h)
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", q


def test_read_and_vread_headers_and_conditional_read(api_site: ApiSite) -> None:
    """http.html#read, #vread, #cread: ETag W/"vid", Last-Modified, Content-Location (the
    versioned URL), 304 for If-None-Match / If-Modified-Since naming what the client holds;
    a deleted resource is 410 with an OperationOutcome; an unknown type 404."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    api_site.store.upsert(vital("hr-1", "pat-1", 9, 70.0, version="2"))
    r = c.get("/fhir/Observation/hr-1", headers=h)
    assert r.headers["etag"] == 'W/"2"'
    assert r.headers["last-modified"] == "Mon, 09 Nov 2026 10:00:00 GMT"
    assert r.headers["content-location"] == "http://testserver/fhir/Observation/hr-1/_history/2"
    v = c.get("/fhir/Observation/hr-1/_history/1", headers=h)
    assert v.status_code == 200 and v.headers["etag"] == 'W/"1"'
    assert v.headers["content-location"] == "http://testserver/fhir/Observation/hr-1/_history/1"
    for cond in (
        {"If-None-Match": 'W/"2"'},
        {"If-None-Match": '"2"'},
        {"If-Modified-Since": "Mon, 09 Nov 2026 10:00:00 GMT"},
    ):
        r = c.get("/fhir/Observation/hr-1", headers={**h, **cond})
        assert r.status_code == 304 and r.content == b"", cond
        assert r.headers["etag"] == 'W/"2"'
    for cond in (
        {"If-None-Match": 'W/"1"'},
        {"If-Modified-Since": "Sun, 08 Nov 2026 10:00:00 GMT"},
    ):
        r = c.get("/fhir/Observation/hr-1", headers={**h, **cond})
        assert r.status_code == 200 and r.json()["id"] == "hr-1", cond
    api_site.store.tombstone("Observation", "hr-2", version_id="2")
    gone = c.get("/fhir/Observation/hr-2", headers=h)
    assert gone.status_code == 410 and gone.json()["issue"][0]["code"] == "deleted"
    assert gone.headers["etag"] == 'W/"2"'
    unknown = c.get("/fhir/Nope/1", headers=h)
    assert unknown.status_code == 404 and unknown.json()["resourceType"] == "OperationOutcome"


def test_search_bundles_as_a_generic_client_reads_them(api_site: ApiSite) -> None:
    """search.html and bundle.html: a searchset with `total`, a self link that is the search
    as understood (ignored parameters left out), `next`, absolute fullUrls, search.mode
    match / include / outcome; `_summary` true / text / data give valid resources (R4's
    mandatory elements kept, SUBSETTED), as does `_elements`; `_count=0` the total only."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    b = c.get(
        "/fhir/Observation?patient=pat-1&_count=3&_include=Observation:patient&_myOwn=1",
        headers=h,
    ).json()
    validate(b)
    assert b["type"] == "searchset" and b["total"] == 7
    links = {link["relation"]: link["url"] for link in b["link"]}
    assert links["self"].startswith("http://testserver/fhir/Observation?")
    assert "_myOwn" not in links["self"] and "patient=pat-1" in links["self"]
    assert "_myOwn" not in links["next"]
    modes = [e["search"]["mode"] for e in b["entry"]]
    assert modes == ["match"] * 3 + ["include", "outcome"]
    assert all(e["fullUrl"].startswith("http://testserver/fhir/") for e in b["entry"][:4])
    count = c.get("/fhir/Observation?patient=pat-1&_count=0&_myOwn=1", headers=h).json()
    assert count["total"] == 7 and [e["search"]["mode"] for e in count["entry"]] == ["outcome"]
    assert "_myOwn" not in count["link"][0]["url"]

    for q in ("_summary=true", "_summary=text", "_summary=data", "_elements=valueQuantity"):
        page = c.get(f"/fhir/Observation?patient=pat-1&_count=4&{q}", headers=h).json()
        later = c.get(_next(page) or "", headers=h).json()
        for e in page["entry"] + later["entry"]:
            res = e["resource"]
            validate(res)  # status and code, which R4 makes mandatory, are there
            assert res["meta"]["tag"][-1]["code"] == "SUBSETTED", q
        keys = set(page["entry"][0]["resource"])
        if q == "_summary=true":
            assert {"subject", "valueQuantity", "effectiveDateTime"} <= keys
            assert "category" not in keys  # not a summary element
        if q == "_summary=text":
            assert keys == {"resourceType", "id", "meta", "status", "code"}
    for q in ("_summary=short", "_summary=true&_elements=code"):
        r = c.get(f"/fhir/Observation?patient=pat-1&{q}", headers=h)
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", q


def test_what_history_and_everything_cannot_do_is_said(api_site: ApiSite) -> None:
    """R4's `_at` (history) and `start`/`end` (Patient/$everything) narrow the answer:
    ignoring them would answer with more than was asked for."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    for url in (
        "/fhir/Observation/hr-1/_history?_at=2026-11-01",
        "/fhir/Observation/hr-1/_history?_list=x",
        "/fhir/Patient/pat-1/$everything?start=2026-11-05",
        "/fhir/Patient/pat-1/$everything?end=2026-11-05",
    ):
        r = c.get(url, headers=h)
        assert r.status_code == 400, url
        assert r.json()["resourceType"] == "OperationOutcome"
    for url in (
        "/fhir/Observation/hr-1/_history?_since=2026-11-01T00:00:00Z&_count=5",
        "/fhir/Patient/pat-1/$everything?_type=Observation&_count=3&_format=json",
    ):
        r = c.get(url, headers=h)
        assert r.status_code == 200, url
        validate(r.json())


def test_count_zero_with_a_subset_is_the_total_without_an_endless_next_link(
    api_site: ApiSite,
) -> None:
    """search.html#count: `_count=0` asks for the total only, whatever `_summary` or
    `_elements` say; a page of none with a `next` link to itself would keep a client that
    follows `next` (fhirpy, fhirclient) asking for ever."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    for q in ("_summary=true", "_summary=text", "_summary=data", "_summary=false", "_elements=id"):
        b = c.get(f"/fhir/Observation?patient=pat-1&_count=0&{q}", headers=h).json()
        validate(b)
        assert b["total"] == 7 and "entry" not in b, q
        assert [link["relation"] for link in b["link"]] == ["self"], q


def test_if_modified_since_in_the_obsolete_http_date_forms(api_site: ApiSite) -> None:
    """RFC 9110 5.6.7: a recipient accepts asctime's and RFC 850's dates too (UTC, no
    offset written); compared with the resource's aware date they raised a TypeError and
    the resource was sent as if changed."""
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    api_site.store.upsert(vital("hr-1", "pat-1", 9, 70.0, version="2"))
    for since in ("Mon Nov  9 10:00:00 2026", "Mon, 09 Nov 2026 10:00:00 -0000"):
        r = c.get("/fhir/Observation/hr-1", headers={**h, "If-Modified-Since": since})
        assert r.status_code == 304, since
    older = c.get(
        "/fhir/Observation/hr-1", headers={**h, "If-Modified-Since": "Sun Nov  8 10:00:00 2026"}
    )
    assert older.status_code == 200
