"""Authentication to the source EHR: none, a static bearer token, or SMART Backend Services.

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html):
the token endpoint is discovered from `<base>/.well-known/smart-configuration`; a client
assertion JWT (RS384 or ES384, per the key's type; header `kid`; `iss` = `sub` = client id;
`aud` = token endpoint; a fresh `jti`; `exp` at most 5 minutes ahead) is exchanged for an
access token with `grant_type=client_credentials`. The token is cached until shortly before
`expires_in` runs out; `invalidate()` (called on a 401) forces a new one.

Failures raise `AuthError` with a message an operator can act on (which client, which
endpoint, what the server said), never the key or the token.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from standby.sync.jwks import key_id_of, load_private_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 240  # the spec's ceiling is 5 minutes
TOKEN_MARGIN_S = 30  # renew this long before the token runs out


class AuthError(Exception):
    """The source refused us, or auth is misconfigured. Not retried: an operator must act.

    `unreachable` is true when the token endpoint could not be reached at all (the EHR is
    down rather than refusing us): status then says the source is unreachable."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class Auth(Protocol):
    def headers(self) -> dict[str, str]:
        """Headers to send with a request (may fetch a token)."""
        ...

    def invalidate(self) -> None:
        """The server answered 401: forget any cached token."""
        ...


class NoAuth:
    def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        return None


class BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        return None


def algorithm_for(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp384r1":
            raise AuthError(f"ES384 needs an EC P-384 key, not {key.curve.name}")
        return "ES384"
    raise AuthError("the private key must be RSA (RS384) or EC P-384 (ES384)")


def client_assertion(
    key: Any,
    *,
    client_id: str,
    token_url: str,
    kid: str,
    now: float | None = None,
    lifetime_s: int = ASSERTION_LIFETIME_S,
) -> str:
    """A signed client-assertion JWT (SMART Backend Services, "Authenticating to the token
    endpoint"): a fresh `jti` every call."""
    now = time.time() if now is None else now
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": int(now) + min(lifetime_s, 300),
        "iat": int(now),
        "jti": uuid.uuid4().hex,
    }
    alg = algorithm_for(key)
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def discover_token_endpoint(base_url: str, client: httpx.Client) -> str:
    """`token_endpoint` from `<base>/.well-known/smart-configuration`."""
    url = base_url.rstrip("/") + "/.well-known/smart-configuration"
    try:
        r = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as e:
        raise AuthError(f"cannot reach {url}: {type(e).__name__}", unreachable=True) from e
    if r.status_code != 200:
        raise AuthError(f"{url} answered {r.status_code}; is SMART enabled on this server?")
    try:
        endpoint = r.json()["token_endpoint"]
    except (ValueError, KeyError, TypeError) as e:
        raise AuthError(f"{url} has no token_endpoint") from e
    if not isinstance(endpoint, str) or not endpoint:
        raise AuthError(f"{url} has no token_endpoint")
    return endpoint


class SmartBackendAuth:
    """SMART Backend Services client: thread-safe token cache."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        private_key: Any,
        *,
        kid: str | None = None,
        scope: str = "system/*.read",
        token_url: str | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.client_id = client_id
        self._key = private_key
        self.alg = algorithm_for(private_key)
        self.kid = kid or key_id_of(private_key.public_key())
        self.scope = scope
        self.token_url = token_url
        self._timeout = timeout
        self._clock = clock
        self._transport = transport
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    @classmethod
    def from_pem(cls, base_url: str, client_id: str, pem: Path, **kw: Any) -> SmartBackendAuth:
        try:
            key = load_private_key(pem)
        except ValueError as e:
            raise AuthError(str(e)) from e
        return cls(base_url, client_id, key, **kw)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            self._token, self._expires_at = self._fetch()
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def _fetch(self) -> tuple[str, float]:
        with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
            if self.token_url is None:
                self.token_url = discover_token_endpoint(self.base_url, client)
            now = self._clock()
            assertion = client_assertion(
                self._key,
                client_id=self.client_id,
                token_url=self.token_url,
                kid=self.kid,
                now=now,
            )
            form = {
                "grant_type": "client_credentials",
                "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
            try:
                r = client.post(self.token_url, data=form, headers={"Accept": "application/json"})
            except httpx.HTTPError as e:
                raise AuthError(
                    f"cannot reach token endpoint {self.token_url}: {type(e).__name__}",
                    unreachable=True,
                ) from e
        if r.status_code != 200:
            raise AuthError(
                f"token endpoint {self.token_url} refused client {self.client_id!r} "
                f"(HTTP {r.status_code}): {_oauth_error(r)}"
            )
        try:
            body = r.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as e:
            raise AuthError(f"token endpoint {self.token_url} sent no access_token") from e
        margin = min(TOKEN_MARGIN_S, expires_in / 10)
        return str(token), now + expires_in - margin


def _oauth_error(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200] or "no detail"
    if isinstance(body, dict):
        err = body.get("error", "")
        desc = body.get("error_description", "")
        return f"{err}: {desc}".strip(": ") or str(body)[:200]
    return str(body)[:200]


def make_auth(
    kind: str,
    *,
    base_url: str,
    bearer_token: str | None = None,
    client_id: str | None = None,
    private_key: Path | None = None,
    key_id: str | None = None,
    scope: str = "system/*.read",
) -> Auth:
    """The `Auth` for a settings value of `auth` (`none`, `bearer`, `smart-backend`)."""
    if kind == "none":
        return NoAuth()
    if kind == "bearer":
        if not bearer_token:
            raise AuthError("auth is `bearer` but no bearer token is set (STANDBY_BEARER_TOKEN)")
        return BearerAuth(bearer_token)
    if kind == "smart-backend":
        if not client_id:
            raise AuthError("auth is `smart-backend` but no client id is set (--client-id)")
        if private_key is None:
            raise AuthError("auth is `smart-backend` but no private key is set (--private-key)")
        return SmartBackendAuth.from_pem(base_url, client_id, private_key, kid=key_id, scope=scope)
    raise AuthError(f"unknown auth {kind!r}: use none, bearer or smart-backend")


def token_provider(settings: Any) -> Callable[[], str] | None:
    """For the monitor's authenticated probe: a function returning a bearer token."""
    if not settings.source_url:
        return None
    auth = make_auth(
        settings.auth,
        base_url=settings.source_url,
        bearer_token=settings.bearer_token,
        client_id=settings.client_id,
        private_key=settings.private_key,
        key_id=settings.key_id,
        scope=settings.scope,
    )
    if isinstance(auth, SmartBackendAuth):
        return auth.token
    if isinstance(auth, BearerAuth):
        token = auth.headers()["Authorization"].split(" ", 1)[1]
        return lambda: token
    return None


__all__ = [
    "Auth",
    "AuthError",
    "BearerAuth",
    "NoAuth",
    "SmartBackendAuth",
    "client_assertion",
    "make_auth",
]
