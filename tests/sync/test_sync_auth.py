"""SMART Backend Services client: assertions, discovery, token cache, errors."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from standby.sync.auth import (
    AuthError,
    BearerAuth,
    NoAuth,
    SmartBackendAuth,
    client_assertion,
    make_auth,
)
from standby.sync.jwks import (
    generate_private_key,
    jwks,
    key_id_of,
    load_private_key,
    write_private_key,
)

BASE = "https://ehr.example.org/fhir"
TOKEN_URL = "https://ehr.example.org/oauth/token"


@pytest.fixture(scope="module")
def ec_key():
    return generate_private_key("ES384")


@pytest.fixture(scope="module")
def rsa_key():
    return generate_private_key("RS384")


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_assertion_is_signed_with_kid_jti_and_short_expiry(alg, ec_key, rsa_key):
    key = ec_key if alg == "ES384" else rsa_key
    kid = key_id_of(key.public_key())
    a1 = client_assertion(key, client_id="c1", token_url=TOKEN_URL, kid=kid, now=1_000_000)
    a2 = client_assertion(key, client_id="c1", token_url=TOKEN_URL, kid=kid, now=1_000_000)
    header = jwt.get_unverified_header(a1)
    assert header["alg"] == alg and header["kid"] == kid
    claims = jwt.decode(
        a1,
        key.public_key(),
        algorithms=[alg],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )
    assert claims["iss"] == claims["sub"] == "c1"
    assert 0 < claims["exp"] - 1_000_000 <= 300
    assert claims["jti"] != jwt.decode(a2, options={"verify_signature": False})["jti"]


def test_rfc7638_thumbprint_example():
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    n_b64 = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
        "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
        "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
        "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    n = int.from_bytes(jwt.utils.base64url_decode(n_b64), "big")
    pub = RSAPublicNumbers(65537, n).public_key()
    assert key_id_of(pub) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_has_public_half_only(ec_key, tmp_path):
    path = tmp_path / "key.pem"
    write_private_key(ec_key, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    doc = jwks(load_private_key(path))
    (k,) = doc["keys"]
    assert k["kty"] == "EC" and k["crv"] == "P-384" and k["alg"] == "ES384"
    assert "d" not in k
    with pytest.raises(FileExistsError):
        write_private_key(ec_key, path)


class FakeTokenServer:
    """A token endpoint that checks the assertion like an EHR would."""

    def __init__(self, key, *, status: int = 200, expires_in: int = 300) -> None:
        self.public = key.public_key()
        self.status = status
        self.expires_in = expires_in
        self.tokens = 0
        self.discoveries = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/smart-configuration"):
            self.discoveries += 1
            return httpx.Response(200, json={"token_endpoint": TOKEN_URL})
        if str(request.url) == TOKEN_URL:
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]
            assert form["client_assertion_type"][0].endswith("jwt-bearer")
            try:
                jwt.decode(
                    form["client_assertion"][0],
                    self.public,
                    algorithms=["ES384", "RS384"],
                    audience=TOKEN_URL,
                    leeway=600,  # the test moves the client's clock forward
                )
            except jwt.InvalidTokenError as e:
                return httpx.Response(
                    401, json={"error": "invalid_client", "error_description": str(e)}
                )
            if self.status != 200:
                return httpx.Response(
                    self.status,
                    json={"error": "invalid_client", "error_description": "client revoked"},
                )
            self.tokens += 1
            return httpx.Response(
                200,
                json={"access_token": f"t{self.tokens}", "expires_in": self.expires_in},
            )
        return httpx.Response(404)


def test_discovers_endpoint_and_caches_token_until_near_expiry(ec_key):
    server = FakeTokenServer(ec_key, expires_in=300)
    now = [time.time()]
    auth = SmartBackendAuth(
        BASE, "c1", ec_key, transport=httpx.MockTransport(server), clock=lambda: now[0]
    )
    assert auth.headers() == {"Authorization": "Bearer t1"}
    now[0] += 200
    assert auth.token() == "t1"  # cached
    now[0] += 90  # within the renewal margin of expires_in
    assert auth.token() == "t2"
    auth.invalidate()
    assert auth.token() == "t3"
    assert server.discoveries == 1


def test_wrong_key_is_a_clear_error(ec_key):
    other = generate_private_key("ES384")
    server = FakeTokenServer(ec_key)
    auth = SmartBackendAuth(BASE, "c1", other, transport=httpx.MockTransport(server))
    with pytest.raises(AuthError, match=r"refused client 'c1' \(HTTP 401\): invalid_client"):
        auth.token()


def test_revoked_client_is_a_clear_error(ec_key):
    server = FakeTokenServer(ec_key, status=403)
    auth = SmartBackendAuth(BASE, "c1", ec_key, transport=httpx.MockTransport(server))
    with pytest.raises(AuthError, match="client revoked"):
        auth.token()


def test_no_smart_configuration(ec_key):
    transport = httpx.MockTransport(lambda r: httpx.Response(404))
    with pytest.raises(AuthError, match="smart-configuration answered 404"):
        SmartBackendAuth(BASE, "c1", ec_key, transport=transport).token()


def test_make_auth_kinds(tmp_path):
    assert isinstance(make_auth("none", base_url=BASE), NoAuth)
    assert isinstance(make_auth("bearer", base_url=BASE, bearer_token="x"), BearerAuth)
    with pytest.raises(AuthError, match="no bearer token"):
        make_auth("bearer", base_url=BASE)
    with pytest.raises(AuthError, match="no client id"):
        make_auth("smart-backend", base_url=BASE)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(AuthError, match="not an unencrypted PEM"):
        make_auth("smart-backend", base_url=BASE, client_id="c", private_key=bad)
    with pytest.raises(AuthError, match="unknown auth"):
        make_auth("kerberos", base_url=BASE)
    assert json.dumps  # keep import used
