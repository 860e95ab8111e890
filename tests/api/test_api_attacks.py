"""An attacker with network access to the node and, at most, a client of low scope (issue
19's attack pass): each test is one attack that worked before its fix."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from standby.api import smart
from standby.settings import Settings
from standby.store import open_store
from standby.sync.jwks import generate_private_key, jwks
from standby.web.app import create_app
from support.fhir_api import ApiSite, small_replica

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
        # a valid form whose offset takes it past year 1 or 9999 in UTC (an OverflowError)
        "/fhir/_history?_since=0001-01-01T00:00:00%2B14:00",
        "/fhir/Observation/_history?_since=9999-12-31T23:59:59-14:00",
        "/fhir/Patient/pat-1/_history?_since=0001-01-01T00:00:00%2B14:00",
        "/fhir/Patient/pat-1/$everything?_since=0001-01-01T00:00:00%2B14:00",
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
    far = "/fhir/$export?_since=0001-01-01T00:00:00%2B14:00"
    _outcome(api_site.http().get(far, headers=h), 400)


def test_a_count_past_the_limit_is_cut_to_it(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    r = api_site.http().get(
        "/fhir/Observation?_count=" + "9" * 5000,  # past int()'s 4,300 digits: was a 500
        headers=api_site.headers("ward"),
    )
    assert r.status_code == 200 and r.json()["total"] == 8


def _post_chunked(app: Any, path: str, headers: dict[str, str], total: int) -> tuple[int, int]:
    """POST `total` bytes in 16 KB chunks with no Content-Length straight to the ASGI app:
    (the answer's status, how many bytes the app took)."""
    taken = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken >= total:
            return {"type": "http.disconnect"}
        taken += 16 * 1024
        return {"type": "http.request", "body": b"a" * 16 * 1024, "more_body": taken < total}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "server": ("testserver", 80), "client": ("10.1.2.3", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    anyio.run(app, scope, receive, send)
    return status, taken


@pytest.mark.parametrize("path", ["/fhir/auth/token", "/fhir/Patient/_search"])
def test_a_chunked_body_past_the_limit_is_refused_unread(api_site: ApiSite, path: str) -> None:
    """The viewer's body limit stops at `/fhir`, and the API's looked at `Content-Length`
    only: a chunked body (no length) was read whole, however large, by the token endpoint
    that anyone may call."""
    api_site.register("ward", "system/*.read")
    headers = {"content-type": "application/x-www-form-urlencoded", "host": "testserver"}
    if path.endswith("_search"):
        headers.update(api_site.headers("ward"))
    status, taken = _post_chunked(api_site.app, path, headers, 64 << 20)
    assert status == 413
    assert taken < 1 << 20  # stopped near the limit, not after 64 MB


def test_a_content_length_of_many_digits_is_a_413(api_site: ApiSite) -> None:
    r = api_site.http().post(
        "/fhir/auth/token", content=b"x", headers={"content-length": "9" * 5000}
    )
    assert r.status_code in (400, 413)


def test_a_body_that_never_ends_gets_408(api_site: ApiSite) -> None:
    """A token request whose body trickles forever held its worker's request open."""
    fhir_app = next(r for r in api_site.app.routes if getattr(r, "name", "") == "fhir").app
    fhir_app.state.api.body_timeout = 0.3
    status = 0

    async def receive() -> dict[str, Any]:
        await anyio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/fhir/auth/token", "raw_path": b"/fhir/auth/token",
        "root_path": "", "query_string": b"", "server": ("testserver", 80),
        "client": ("10.1.2.3", 5000), "headers": [(b"host", b"testserver")],
    }  # fmt: skip
    t0 = time.monotonic()
    anyio.run(api_site.app, scope, receive, send)
    assert status == 408 and time.monotonic() - t0 < 5


def _token_form(assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": smart.ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def test_another_nodes_assertion_sent_with_its_host_header_gets_no_token(
    tmp_path: Path,
) -> None:
    """The token endpoint compared `aud` with its URL as built from the request's Host
    header, which the sender chooses: a node a client also authenticates to (another
    Standby, an edge node on a unit PC) could replay the client's assertion here with
    `Host: <itself>` and get a token for the client. With the node's public base URL set
    (`STANDBY_FHIR_BASE_URL`), only assertions made for it are taken."""
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    try:
        settings = Settings(
            db=db, fhir_base_url="http://testserver/fhir, https://standby.example/fhir"
        )
        site = ApiSite(store, settings, create_app(settings, store))
        beds = site.register("beds", "system/Location.read")
        c = site.http()
        stolen = beds.assertion(token_url="http://edge-3w.example/fhir/auth/token")
        spoofed = {"Host": "edge-3w.example"}
        r = c.post("/fhir/auth/token", data=_token_form(stolen), headers=spoofed)
        assert r.status_code == 401 and "aud" in r.json()["error_description"], r.text
        # assertions for any of the node's own URLs are taken, whatever Host says
        for url in ("http://testserver/fhir/auth/token", "https://standby.example/fhir/auth/token"):
            r = c.post("/fhir/auth/token", data=_token_form(beds.assertion(token_url=url)))
            assert r.status_code == 200, r.text
        conf = c.get("/fhir/.well-known/smart-configuration", headers=spoofed)
        assert conf.json()["token_endpoint"] == "http://testserver/fhir/auth/token"
    finally:
        store.close()


@pytest.mark.parametrize(
    "query",
    [
        "/fhir/Observation?patient=pat-2&code=8867-4&_summary=count",  # "has pat-2 ..."
        "/fhir/Observation?subject=Patient/pat-2&code=8867-4&_count=0",
        "/fhir/Observation?subject:Patient=pat-2&code=http://loinc.org|0000-0",  # none: "has not"
        "/fhir/Patient?_id=pat-2&gender=female",  # none: "is not female"
    ],
)
def test_an_answer_about_a_named_patient_is_audited_for_that_patient(
    api_site: ApiSite, query: str
) -> None:
    """A count, or an empty page, tells of the patient the search names (`Condition?
    patient=X&code=<a diagnosis>&_summary=count` says whether X has it) but was audited
    as a read of no one's data."""
    from standby.accounts import repository
    from standby.accounts.records import AuditQuery

    ward = api_site.register("ward", "system/*.read")
    r = api_site.http().get(query, headers=api_site.headers("ward"))
    assert r.status_code == 200, r.text
    lines = repository.search_audit(api_site.store, AuditQuery(username=ward.client_id))
    assert [e.patient_id for e in lines] == ["pat-2"], [(e.page, e.patient_id) for e in lines]


def test_a_search_naming_no_patient_is_audited_as_before(api_site: ApiSite) -> None:
    from standby.accounts import repository
    from standby.accounts.records import AuditQuery

    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    c.get("/fhir/Encounter?location=loc-3w&_summary=count", headers=h)  # not a patient
    c.get("/fhir/Observation?subject=Patient/nobody", headers=h)  # no such patient
    lines = repository.search_audit(api_site.store, AuditQuery(username=ward.client_id))
    assert sorted(e.patient_id or "" for e in lines) == ["", ""]


def test_read_without_search_lists_nothing_through_revinclude_or_everything(
    api_site: ApiSite,
) -> None:
    """`system/Observation.r` lets a client read an Observation it names, not find them
    (that is `s`). `_revinclude` and `$everything` find a patient's resources: they used
    to add the Observations of a client that may search Patient but only read
    Observation."""
    api_site.register("mixed", "system/Patient.rs system/Observation.r")
    h = api_site.headers("mixed")
    c = api_site.http()
    assert c.get("/fhir/Observation/hr-1", headers=h).status_code == 200  # r: by id
    _outcome(c.get("/fhir/Observation?patient=pat-1", headers=h), 403)  # no s
    b = c.get("/fhir/Patient?_id=pat-1&_revinclude=Observation:subject", headers=h).json()
    assert [e["resource"]["resourceType"] for e in b["entry"]] == ["Patient"]
    b = c.get("/fhir/Patient/pat-1/$everything", headers=h).json()
    assert [e["resource"]["resourceType"] for e in b["entry"]] == ["Patient"]
    # with search on Observation, both list them
    api_site.register("full", "system/Patient.rs system/Observation.rs")
    f = api_site.headers("full")
    b = c.get("/fhir/Patient?_id=pat-1&_revinclude=Observation:subject", headers=f).json()
    assert sum(e["resource"]["resourceType"] == "Observation" for e in b["entry"]) == 7
    b = c.get("/fhir/Patient/pat-1/$everything", headers=f).json()
    assert sum(e["resource"]["resourceType"] == "Observation" for e in b["entry"]) == 7


def test_a_summary_needs_search_too(api_site: ApiSite) -> None:
    """`$summary` lists a patient's medications, allergies, problems and results: finding
    them, not reading ones the client names. `system/*.r` (read by id only) got it whole."""
    api_site.register("reader", "system/*.r")
    h = api_site.headers("reader")
    c = api_site.http()
    assert c.get("/fhir/Patient/pat-1", headers=h).status_code == 200
    oo = _outcome(c.get("/fhir/Patient/pat-1/$summary", headers=h), 403)
    assert "search" in oo["issue"][0]["diagnostics"]
    api_site.register("ward", "system/*.rs")
    w = api_site.headers("ward")
    assert c.get("/fhir/Patient/pat-1/$summary", headers=w).status_code == 200


def test_a_new_client_id_never_starts_with_a_dash(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One client_id in 64 began with "-", and `standby clients remove <id>` then took it
    for an option ("No such option"): the client could not be revoked that way."""
    made = iter(["-starts-with-dash", "_fine-id"])
    monkeypatch.setattr(smart.secrets, "token_urlsafe", lambda n=None: next(made))
    c = smart.add_client(
        api_site.store,
        name="x",
        jwks=jwks(generate_private_key()),
        scope="system/Location.read",
    )
    assert c.client_id == "_fine-id"


def test_exports_running_at_once_are_limited(api_site: ApiSite) -> None:
    """Every kick-off started a thread writing its own copy of what the client may read:
    a client of any scope could start hundreds at once and fill the node's disk and CPU
    during a downtime. A client runs at most `MAX_RUNNING_PER_CLIENT` at once, the node
    `MAX_RUNNING`; more are 429 with Retry-After (export.html: the server may refuse)."""
    from standby.api import export_jobs, schema

    api_site.register("beds", "system/Location.read")
    api_site.register("ward", "system/*.read")
    beds = api_site.clients["beds"].client_id
    schema.ensure(api_site.store)
    now = time.time()
    with api_site.store.transaction() as tx:  # exports of this client, still running
        for i in range(export_jobs.MAX_RUNNING_PER_CLIENT):
            tx.execute(
                "INSERT INTO fhir_api_exports (id, client_id, request, created, updated,"
                " transaction_time, status, progress) VALUES (?, ?, '', ?, ?, '', 'running', '')",
                (f"busy-{i}", beds, now, now),
            )
    c = api_site.http()
    h = api_site.headers("beds")
    r = c.get("/fhir/$export", headers={**h, **ASYNC})
    oo = _outcome(r, 429)
    assert r.headers["retry-after"] and "at once" in oo["issue"][0]["diagnostics"]
    # another client is not held up by this one's
    w = api_site.headers("ward")
    assert c.get("/fhir/$export", headers={**w, **ASYNC}).status_code == 202
    # one that died with its process (no heartbeat for STALE_SECONDS) counts no more
    with api_site.store.transaction() as tx:
        tx.execute(
            "UPDATE fhir_api_exports SET updated = ? WHERE client_id = ?",
            (now - export_jobs.STALE_SECONDS - 1, beds),
        )
    assert c.get("/fhir/$export", headers={**h, **ASYNC}).status_code == 202


def test_a_client_keeps_a_bounded_number_of_paging_snapshots(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every first page of a search needing more than one took a snapshot (up to 10,000
    ids) kept an hour: a client of any search scope could write them as fast as it could
    ask and fill the node's disk. A client keeps its newest `MAX_SNAPSHOTS_PER_CLIENT`;
    an older one's pages answer 410 (search again), as an expired one does."""
    from standby.api import paging

    monkeypatch.setattr(paging, "MAX_SNAPSHOTS_PER_CLIENT", 3)
    api_site.register("ward", "system/*.read")
    api_site.register("other", "system/*.read")
    h, o = api_site.headers("ward"), api_site.headers("other")
    c = api_site.http()

    def next_link(headers: dict[str, str]) -> str:
        b = c.get("/fhir/Observation?_count=2", headers=headers).json()
        url = next(x["url"] for x in b["link"] if x["relation"] == "next")
        return str(url).replace("http://testserver", "")

    theirs = next_link(o)
    links = [next_link(h) for _ in range(5)]
    rows = api_site.store.read_transaction
    with rows() as tx:
        n = tx.query(
            "SELECT count(*) FROM fhir_api_snapshots WHERE client_id = ?",
            (api_site.clients["ward"].client_id,),
        )[0][0]
    assert n == 3
    _outcome(c.get(links[0], headers=h), 410)
    assert c.get(links[-1], headers=h).status_code == 200
    assert c.get(theirs, headers=o).status_code == 200  # another client's are its own


def test_an_export_file_download_is_audited_for_each_patient_in_it(api_site: ApiSite) -> None:
    """An export file is an answer carrying the data of every patient in it; its download
    was audited as one line of no one's data (and a system export's kick-off too)."""
    from standby.accounts import repository
    from standby.accounts.records import AuditQuery

    labs = api_site.register("labs", "system/Observation.rs system/Location.rs")
    h = api_site.headers("labs")
    c = api_site.http()
    m = _manifest(api_site, c.get("/fhir/$export", headers={**h, **ASYNC}), h)
    files = {o["type"]: o["url"].replace("http://testserver", "") for o in m["output"]}
    assert set(files) == {"Observation", "Location"}
    for url in files.values():
        assert c.get(url, headers=h).status_code == 200
    lines = repository.search_audit(api_site.store, AuditQuery(username=labs.client_id))
    by_page: dict[str, set[str | None]] = {}
    for e in lines:
        by_page.setdefault(e.page, set()).add(e.patient_id)
    assert by_page[files["Observation"]] == {"pat-1", "pat-2"}
    assert by_page[files["Location"]] == {None}  # no one's data: one line without a patient


def test_a_group_export_needs_the_scope_that_names_its_members(api_site: ApiSite) -> None:
    """`Group/unit-3W/$export` tells which patients lie on 3W (their Observations, in the
    file) to a client that may read Observations only, which no search of its own could:
    placing patients on a unit is reading Encounters. A Group resource's members are the
    Group's data. So a unit needs read and search of Encounter, a Group resource read of
    Group; without them, 403."""
    meta = {"versionId": "2", "lastUpdated": "2026-11-02T00:00:00Z"}
    api_site.store.upsert_many(
        [
            json.dumps(
                {"resourceType": "Location", "id": "loc-3w", "meta": meta, "name": "3 West",
                 "alias": ["3W"], "status": "active", "physicalType": {"coding": [{"code": "wi"}]}}
            ).encode(),
            json.dumps(
                {"resourceType": "Group", "id": "grp-1", "meta": meta, "type": "person",
                 "actual": True, "member": [{"entity": {"reference": "Patient/pat-2"}}]}
            ).encode(),
        ]
    )  # fmt: skip
    api_site.register("labs", "system/Observation.rs")
    api_site.register("census", "system/Observation.rs system/Encounter.rs system/Group.r")
    c = api_site.http()
    h = {**api_site.headers("labs"), **ASYNC}
    oo = _outcome(c.get("/fhir/Group/unit-3W/$export", headers=h), 403)
    assert "Encounter" in oo["issue"][0]["diagnostics"]
    oo = _outcome(c.get("/fhir/Group/grp-1/$export", headers=h), 403)
    assert "Group" in oo["issue"][0]["diagnostics"]
    ok = {**api_site.headers("census"), **ASYNC}
    assert c.get("/fhir/Group/unit-3W/$export", headers=ok).status_code == 202
    assert c.get("/fhir/Group/grp-1/$export", headers=ok).status_code == 202


def test_a_history_empty_since_an_instant_is_audited_for_its_patient(api_site: ApiSite) -> None:
    """`Patient/X/_history?_since=<later>` answers 200 with no entry when X is held, 404
    when not: it tells whether X is in the replica, and was audited as no one's read."""
    from standby.accounts import repository
    from standby.accounts.records import AuditQuery

    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    for path in ("Patient/pat-2", "Observation/hr-other"):
        r = c.get(f"/fhir/{path}/_history?_since=2030-01-01T00:00:00Z", headers=h)
        assert r.status_code == 200 and "entry" not in r.json(), r.text
    assert c.get("/fhir/Patient/nobody/_history", headers=h).status_code == 404
    lines = repository.search_audit(api_site.store, AuditQuery(username=ward.client_id))
    assert [e.patient_id for e in lines] == ["pat-2", "pat-2"]


@pytest.mark.parametrize("damage", ["missing", "not a list"])
def test_an_export_file_without_its_patient_list_is_audited_for_the_patients_in_it(
    api_site: ApiSite, damage: str
) -> None:
    """An export written before the patient lists were (an upgrade within the 24 h its
    files are kept), or whose list is unreadable: its download was audited as one line of
    no one's data; the patients are read from the file itself."""
    from standby.accounts import repository
    from standby.accounts.records import AuditQuery
    from standby.api import export_jobs
    from standby.web.app import export_directory

    labs = api_site.register("labs", "system/Observation.rs")
    h = api_site.headers("labs")
    c = api_site.http()
    m = _manifest(api_site, c.get("/fhir/$export", headers={**h, **ASYNC}), h)
    url = m["output"][0]["url"].replace("http://testserver", "")
    job, name = url.split("/")[-2:]
    lists = list(
        (export_directory(api_site.settings) / job).glob(name + export_jobs.PATIENTS_SUFFIX)
    )
    assert len(lists) == 1
    if damage == "missing":
        lists[0].unlink()
    else:
        lists[0].write_bytes(b'{"x": 1}')
    assert c.get(url, headers=h).status_code == 200
    lines = repository.search_audit(api_site.store, AuditQuery(username=labs.client_id))
    assert {e.patient_id for e in lines if e.page == url} == {"pat-1", "pat-2"}


def test_a_search_form_that_is_not_utf8_is_a_400(api_site: ApiSite) -> None:
    """POST _search decoded its form strictly: a byte that is not UTF-8 was a 500."""
    api_site.register("ward", "system/*.read")
    r = api_site.http().post(
        "/fhir/Observation/_search",
        content=b"\xff\xfe=1",
        headers={**api_site.headers("ward"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    oo = _outcome(r, 400)
    assert "internal error" not in oo["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "query", ["subject:Patient.name=Alpha", "subject:Patient.name=Alpha&_summary=count"]
)
def test_a_chained_search_is_refused_not_answered_none(api_site: ApiSite, query: str) -> None:
    """`Observation?subject:Patient.name=Alpha` (a chain, with a type) was read as the type
    modifier `Patient.name`: 200 with total 0, "no Observations of patients named Alpha"
    while pat-1 Alpha has seven; the plain chain (`subject.name`) was a 400 already."""
    api_site.register("ward", "system/*.read")
    r = api_site.http().get(f"/fhir/Observation?{query}", headers=api_site.headers("ward"))
    oo = _outcome(r, 400)
    assert "chained" in oo["issue"][0]["diagnostics"]
