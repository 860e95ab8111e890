"""Who may read the API: SMART Backend Services tokens, scopes per resource type, every
write refused with an OperationOutcome, every read audited like a page view."""

from __future__ import annotations

import time

import pytest

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.api import smart
from standby.sync.jwks import generate_private_key, jwks
from support.fhir_api import ApiSite, resource


def _is_outcome(r: object, status: int) -> dict:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome", body
    assert r.headers["content-type"].startswith("application/fhir+json")  # type: ignore[attr-defined]
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/fhir/Patient"),
        ("PUT", "/fhir/Patient/pat-1"),
        ("PATCH", "/fhir/Patient/pat-1"),
        ("DELETE", "/fhir/Patient/pat-1"),
        ("POST", "/fhir"),  # a transaction or batch
        ("POST", "/fhir/"),
        ("DELETE", "/fhir/Observation?patient=pat-1"),  # conditional delete
    ],
)
def test_every_write_is_refused_with_405_and_where_to_document(
    api_site: ApiSite, method: str, path: str
) -> None:
    api_site.register("ward", "system/*.read")
    headers = {**api_site.headers("ward"), "content-type": "application/fhir+json"}
    body = resource("Patient", "pat-1", name=[{"family": "Changed"}])
    r = api_site.http().request(method, path, headers=headers, content=body)
    oo = _is_outcome(r, 405)
    text = oo["issue"][0]["diagnostics"]
    assert "read-only downtime replica" in text and "http://testserver/" in text
    assert "Document" in text
    # unauthenticated writes are refused the same way (nothing about the data is revealed)
    _is_outcome(api_site.http().request(method, path, content=body), 405)
    got = api_site.store.read("Patient", "pat-1")
    assert got is not None and b"Changed" not in got.body


def test_other_methods_are_405_without_talk_of_writes(api_site: ApiSite) -> None:
    r = api_site.http().request("OPTIONS", "/fhir/Patient")
    oo = _is_outcome(r, 405)
    assert "OPTIONS is not supported" in oo["issue"][0]["diagnostics"]


def test_unauthenticated_requests_get_401_with_an_outcome(api_site: ApiSite) -> None:
    c = api_site.http()
    for path in ("/fhir/Patient/pat-1", "/fhir/Observation?patient=pat-1", "/fhir/_history"):
        r = c.get(path)
        _is_outcome(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
    _is_outcome(c.get("/fhir/Patient/pat-1", headers={"Authorization": "Bearer forged.x.y"}), 401)
    # what a client needs before it has a token is public
    assert c.get("/fhir/metadata").status_code == 200
    conf = c.get("/fhir/.well-known/smart-configuration").json()
    assert conf["token_endpoint"] == "http://testserver/fhir/auth/token"


def test_the_token_endpoint_checks_the_assertion(api_site: ApiSite) -> None:
    ward = api_site.register("ward", "system/*.read")
    c = api_site.http()

    def ask(assertion: str) -> object:
        return c.post(
            "/fhir/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": smart.ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )

    good = ward.assertion()
    assert ask(good).status_code == 200  # type: ignore[attr-defined]
    replay = ask(good)
    assert replay.status_code == 401 and "jti" in replay.json()["error_description"]  # type: ignore[attr-defined]
    wrong_aud = ask(ward.assertion(token_url="http://elsewhere/token"))
    assert wrong_aud.status_code == 401 and "aud" in wrong_aud.json()["error_description"]  # type: ignore[attr-defined]
    expired = ask(ward.assertion(now=time.time() - 600))
    assert expired.status_code == 401  # type: ignore[attr-defined]
    # signed with a key that is not the one registered
    other = generate_private_key()
    from standby.sync.auth import client_assertion

    forged = client_assertion(
        other, client_id=ward.client_id, token_url="http://testserver/fhir/auth/token", kid=ward.kid
    )
    assert ask(forged).status_code == 401  # type: ignore[attr-defined]


def test_scopes_are_checked_per_resource_type(api_site: ApiSite) -> None:
    api_site.register("cabinets", "system/MedicationRequest.read system/Medication.rs")
    api_site.register("v2", "system/Patient.r")  # read, but no search
    c = api_site.http()
    h = api_site.headers("cabinets")
    assert c.get("/fhir/MedicationRequest/mr-1", headers=h).status_code == 200
    assert c.get("/fhir/MedicationRequest?patient=pat-1", headers=h).status_code == 200
    assert c.get("/fhir/Medication?_id=med-1", headers=h).status_code == 200
    oo = _is_outcome(c.get("/fhir/Patient/pat-1", headers=h), 403)
    assert "system/Patient.read" in oo["issue"][0]["diagnostics"]
    _is_outcome(c.get("/fhir/Observation?patient=pat-1", headers=h), 403)
    _is_outcome(c.get("/fhir/Patient/pat-1/$everything", headers=h), 403)
    # an _include of a type out of scope is left out, not leaked
    b = c.get(
        "/fhir/MedicationRequest?_id=mr-1&_include=MedicationRequest:subject"
        "&_include=MedicationRequest:medication",
        headers=h,
    ).json()
    assert sorted(e["resource"]["resourceType"] for e in b["entry"]) == [
        "Medication",
        "MedicationRequest",
    ]
    v2 = api_site.headers("v2")
    assert c.get("/fhir/Patient/pat-1", headers=v2).status_code == 200
    _is_outcome(c.get("/fhir/Patient?name=alpha", headers=v2), 403)
    # a token asks for less than registered, never more
    narrow = api_site.headers("cabinets", scope="system/Medication.rs")
    _is_outcome(c.get("/fhir/MedicationRequest/mr-1", headers=narrow), 403)
    more = api_site.token_response("cabinets", scope="system/Patient.read")
    assert more.status_code == 400 and more.json()["error"] == "invalid_scope"


def test_a_removed_client_is_refused_at_once(api_site: ApiSite) -> None:
    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    assert c.get("/fhir/Patient/pat-1", headers=h).status_code == 200
    assert smart.remove_client(api_site.store, ward.client_id)
    # the registration cache's lifetime (two seconds) passes
    fhir_app = next(r for r in api_site.app.routes if getattr(r, "name", "") == "fhir").app
    fhir_app.state.api.authority._loaded = -1e9
    oo = _is_outcome(c.get("/fhir/Patient/pat-1", headers=h), 401)
    assert "removed" in oo["issue"][0]["diagnostics"]
    assert api_site.token_response("ward").status_code == 401


def test_registration_refuses_private_keys_and_unknown_scopes(api_site: ApiSite) -> None:
    key = generate_private_key()
    with pytest.raises(ValueError, match="scope"):
        smart.add_client(api_site.store, name="x", jwks=jwks(key), scope="patient/*.read")
    with pytest.raises(ValueError, match="scope"):
        smart.add_client(api_site.store, name="x", jwks=jwks(key), scope="system/*.write")
    from jwt.algorithms import ECAlgorithm

    private = ECAlgorithm.to_jwk(key, as_dict=True)
    with pytest.raises(ValueError, match="private"):
        smart.add_client(api_site.store, name="x", jwks={"keys": [private]}, scope="system/*.read")


def test_every_read_is_audited_with_the_client_and_the_patients(api_site: ApiSite) -> None:
    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    c.get("/fhir/Patient/pat-1", headers=h)
    c.get("/fhir/Observation?code=8867-4", headers=h)  # both patients' heart rates
    c.get("/fhir/Location/loc-3w", headers=h)  # nobody's data
    c.get("/fhir/Patient/pat-2/$everything", headers=h)
    lines = repository.search_audit(
        api_site.store, AuditQuery(username=ward.client_id, action="fhir-read")
    )
    seen = sorted((e.page, e.patient_id or "") for e in lines)
    assert seen == sorted(
        [
            ("/fhir/Patient/pat-1", "pat-1"),
            ("/fhir/Observation?code=8867-4", "pat-1"),
            ("/fhir/Observation?code=8867-4", "pat-2"),
            ("/fhir/Location/loc-3w", ""),
            ("/fhir/Patient/pat-2/$everything", "pat-2"),
        ]
    )
    assert {e.address for e in lines} == {"10.1.2.3"}
    assert {e.role for e in lines} == {"fhir-client"}
    assert "fhir-read" in repository.AUDIT_ACTIONS  # the admin's audit filter offers it
    # refused requests read nothing and are not "reads"
    c.get("/fhir/Patient/pat-2")
    assert len(repository.search_audit(api_site.store, AuditQuery(action="fhir-read"))) == 5


def test_a_token_from_one_worker_is_good_in_another(api_site: ApiSite) -> None:
    """Worker processes share nothing but the database: a token issued by one is checked
    by another (the signing key is kept there, made once)."""
    from standby.store import open_store

    api_site.register("ward", "system/*.read")
    token = api_site.headers("ward")["Authorization"]
    other = open_store(db=api_site.settings.db)
    try:
        grant = smart.Authority(other).check(token)
    finally:
        other.close()
    assert isinstance(grant, smart.Grant) and grant.client_id == api_site.clients["ward"].client_id


def test_admins_find_the_api_reads_in_the_audit_log(api_site: ApiSite) -> None:
    """The viewer's audit page and CSV show a client's reads beside the clinicians'."""
    from standby.accounts import users
    from support.web_site import login

    ward = api_site.register("ward", "system/*.read")
    api_site.http().get("/fhir/Patient/pat-1", headers=api_site.headers("ward"))
    users.add_user(api_site.store, "admin.a", "correct horse battery", role="admin", units=[])
    viewer = api_site.http()
    viewer.follow_redirects = False
    assert login(viewer, "admin.a", "correct horse battery").status_code == 303
    page = viewer.get("/admin/audit?action=fhir-read")
    assert page.status_code == 200 and ward.client_id in page.text and "Alpha" in page.text
    csv = viewer.get("/admin/audit.csv?action=fhir-read")
    assert csv.status_code == 200 and f"{ward.client_id},fhir-client,fhir-read" in csv.text
