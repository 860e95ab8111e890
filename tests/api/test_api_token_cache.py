"""A verified access token is remembered by its process until its `exp`: later requests
skip the signature check, never the expiry nor the client's revocation."""

from __future__ import annotations

from typing import Any

import pytest

from standby.api import smart
from support.fhir_api import ApiSite


def _authority(api_site: ApiSite, **kw: Any) -> smart.Authority:
    return smart.Authority(api_site.store, **kw)


def test_a_verified_token_is_not_verified_again(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_site.register("ward", "system/*.read")
    token = api_site.headers("ward")["Authorization"]
    authority = _authority(api_site)
    decoded = []
    real = smart.jwt.decode

    def counting(*a: Any, **kw: Any) -> Any:
        decoded.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(smart.jwt, "decode", counting)
    grants = [authority.check(token) for _ in range(5)]
    assert all(isinstance(g, smart.Grant) for g in grants)
    assert {g.client_id for g in grants if isinstance(g, smart.Grant)} == {
        api_site.clients["ward"].client_id
    }
    assert len(decoded) == 1
    # a token changed by one character is still checked, and refused
    bad = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert authority.check(bad) == "the access token is not one this server issued"


def test_a_remembered_token_still_expires(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    token = api_site.headers("ward")["Authorization"]
    import time

    now = [time.time()]
    authority = _authority(api_site, wall=lambda: now[0])
    assert isinstance(authority.check(token), smart.Grant)
    now[0] += smart.TOKEN_SECONDS + 1
    assert authority.check(token) == "the access token has expired"


def test_a_remembered_token_of_a_removed_client_is_refused(api_site: ApiSite) -> None:
    ward = api_site.register("ward", "system/*.read")
    token = api_site.headers("ward")["Authorization"]
    authority = _authority(api_site, cache_seconds=0.0)
    assert isinstance(authority.check(token), smart.Grant)
    assert smart.remove_client(api_site.store, ward.client_id)
    assert authority.check(token) == "the client has been removed"


def test_the_remembered_tokens_are_bounded(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_site.register("ward", "system/*.read")
    monkeypatch.setattr(smart, "VERIFIED_MAX", 3)
    authority = _authority(api_site)
    # tokens issued in the same second are the same JWT: these differ by their scope
    tokens = [
        api_site.headers("ward", scope=s)["Authorization"]
        for s in ("system/Patient.read", "system/Observation.read", "system/*.read",
                  "system/Encounter.read", "system/Location.read")
    ]  # fmt: skip
    for t in tokens:
        assert isinstance(authority.check(t), smart.Grant)
    assert len(authority._verified) <= 3
