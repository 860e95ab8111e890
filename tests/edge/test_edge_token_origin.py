"""An edge node sends its bearer token for the central node only to the central node's
origin: a compromised or spoofed central node cannot point the edge's requests (a
manifest's file or status URLs, a page's `next` link, a redirect) at another host and
collect the token there."""

from __future__ import annotations

import httpx
import pytest

from standby.sync.auth import BearerAuth
from standby.sync.http import FhirClient, SourceError

BASE = "http://central.test:8080/fhir"
TOKEN = "Bearer edge-token"


def _client(handler) -> FhirClient:  # type: ignore[no-untyped-def]
    return FhirClient(
        BASE, auth=BearerAuth("edge-token"), transport=httpx.MockTransport(handler), rate=0
    )


def test_the_token_goes_to_the_source_origin_only() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        return httpx.Response(200, json={"resourceType": "Bundle"})

    c = _client(handler)
    for url in (
        "Patient",  # relative to the source
        f"{BASE}/$export-file/job/Patient-1.ndjson",  # absolute, same origin
        "http://evil.test/fhir/$export-file/job/Patient-1.ndjson",  # another host
        "http://central.test:9999/fhir/x",  # another port
        "https://central.test:8080/fhir/x",  # another scheme
        "http://central.test:8080@evil.test/fhir/x",  # userinfo trick: the host is evil
    ):
        c.request("GET", url)
    assert seen[f"{BASE}/Patient"] == TOKEN
    assert seen[f"{BASE}/$export-file/job/Patient-1.ndjson"] == TOKEN
    others = {u: h for u, h in seen.items() if not u.startswith(BASE + "/")}
    assert len(others) == 4 and not any("edge-token" in (h or "") for h in others.values())


def test_a_redirect_to_another_host_carries_no_token() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("authorization")
        if request.url.host == "central.test":
            return httpx.Response(302, headers={"Location": "http://evil.test/steal"})
        return httpx.Response(200, json={"resourceType": "Bundle"})

    _client(handler).request("GET", "Patient")
    assert seen == {"central.test": TOKEN, "evil.test": None}


def test_a_file_elsewhere_that_wants_the_token_fails_saying_why() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if request.url.host == "evil.test" else 200)

    with pytest.raises(SourceError, match="origin only"):
        _client(handler).request("GET", "http://evil.test/fhir/file.ndjson")


def test_an_endless_page_is_refused_before_it_fills_the_memory() -> None:
    """A compromised central node (or any source) answering a search with an endless body
    made the sync read it all into memory."""
    sent = 0

    def endless():  # type: ignore[no-untyped-def]
        nonlocal sent
        while True:
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    c = FhirClient(BASE, transport=httpx.MockTransport(handler), rate=0, max_response_bytes=4 << 20)
    with pytest.raises(SourceError, match="larger than 4 MB"):
        c.request("GET", "Observation")
    assert sent < 8 << 20


def test_a_page_under_the_limit_reads_as_before() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"})

    c = FhirClient(BASE, transport=httpx.MockTransport(handler), rate=0, max_response_bytes=1000)
    assert c.get_json("Observation")["type"] == "searchset"
