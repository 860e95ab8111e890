"""SMART Backend Services for the simulated EHR (authorization server + resource guard).

https://hl7.org/fhir/smart-app-launch/backend-services.html — the client authenticates with
a signed JWT (RS384 or ES384; `iss` == `sub` == client_id, `aud` == the token URL, `exp` at
most five minutes ahead, `jti` never reused) checked against the client's registered JWKS
(key picked by `kid`); errors follow RFC 6749 §5.2 (`invalid_client`, `invalid_grant`, ...).
Access tokens are opaque, expire after `expires_in` seconds, and are checked on every FHIR
request (401 + `WWW-Authenticate: Bearer` + OperationOutcome otherwise).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK

ALGS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300


class TokenRequestRefused(Exception):
    """The token endpoint refuses a client's token request: `error` is the RFC 6749 §5.2
    error code (`invalid_client`, `invalid_request`, ...), `description` says why."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class Client:
    client_id: str
    jwks: dict[str, Any]
    scope: str = "system/*.read"


@dataclass
class SmartAuthConfig:
    """Registered clients and token policy; thread-safe."""

    clients: dict[str, Client] = field(default_factory=dict)
    expires_in: int = 300
    _tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict, repr=False)
    _jtis: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_file(cls, path: Path, *, expires_in: int = 300) -> SmartAuthConfig:
        """`{client_id: {"jwks": {...}, "scope": "..."}}`."""
        data = json.loads(path.read_text())
        cfg = cls(expires_in=expires_in)
        for cid, entry in data.items():
            cfg.register(cid, entry["jwks"], entry.get("scope", "system/*.read"))
        return cfg

    def register(self, client_id: str, jwks: dict[str, Any], scope: str = "system/*.read") -> None:
        if not isinstance(jwks.get("keys"), list):
            raise ValueError("jwks must be a JWK Set ({'keys': [...]})")
        with self._lock:
            self.clients[client_id] = Client(client_id, jwks, scope)

    def revoke(self, client_id: str) -> bool:
        """Forget the client and every token issued to it."""
        with self._lock:
            gone = self.clients.pop(client_id, None) is not None
            for tok in [t for t, v in self._tokens.items() if v[0] == client_id]:
                del self._tokens[tok]
        return gone

    # ---- token endpoint ------------------------------------------------------------
    def issue(
        self, form: dict[str, str], token_url: str, now: float | None = None
    ) -> dict[str, Any]:
        """Check a client_credentials request; the token response, or TokenRequestRefused."""
        now = time.time() if now is None else now
        if form.get("grant_type") != "client_credentials":
            raise TokenRequestRefused(
                "unsupported_grant_type", "grant_type must be client_credentials"
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenRequestRefused(
                "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}"
            )
        assertion = form.get("client_assertion")
        if not assertion:
            raise TokenRequestRefused("invalid_request", "client_assertion is missing")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise TokenRequestRefused(
                "invalid_client", f"client_assertion is not a JWT: {e}"
            ) from e
        alg = header.get("alg")
        if alg not in ALGS:
            raise TokenRequestRefused(
                "invalid_client", f"alg {alg!r} is not one of {', '.join(ALGS)}"
            )
        cid = claims.get("iss")
        if not cid or claims.get("sub") != cid:
            raise TokenRequestRefused("invalid_client", "iss and sub must both be the client_id")
        with self._lock:
            client = self.clients.get(cid)
        if client is None:
            raise TokenRequestRefused("invalid_client", "unknown or revoked client")
        key = _pick_key(client.jwks, header.get("kid"), alg)
        try:
            jwt.decode(
                assertion,
                key=key,
                algorithms=[alg],
                audience=token_url,
                options={"require": ["exp", "jti", "iss", "sub", "aud"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenRequestRefused("invalid_client", "client_assertion has expired") from e
        except jwt.InvalidAudienceError as e:
            raise TokenRequestRefused("invalid_client", f"aud must be {token_url}") from e
        except jwt.PyJWTError as e:
            raise TokenRequestRefused("invalid_client", f"client_assertion rejected: {e}") from e
        exp = float(claims["exp"])
        if exp > now + MAX_ASSERTION_LIFETIME + 5:
            raise TokenRequestRefused("invalid_client", "exp is more than five minutes ahead")
        jti = str(claims["jti"])
        with self._lock:
            for k in [k for k, v in self._jtis.items() if v < now]:
                del self._jtis[k]
            # tokens nobody presents after they expire would stay for the server's lifetime
            for t in [t for t, v in self._tokens.items() if v[2] <= now]:
                del self._tokens[t]
            if jti in self._jtis:
                raise TokenRequestRefused("invalid_client", "jti has been used already")
            self._jtis[jti] = exp
            scope = _grant_scope(form.get("scope", ""), client.scope)
            token = secrets.token_urlsafe(32)
            self._tokens[token] = (cid, scope, now + self.expires_in)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }

    def check(self, authorization: str | None, now: float | None = None) -> str | None:
        """None when the bearer token is valid, else the reason."""
        now = time.time() if now is None else now
        if not authorization or not authorization.lower().startswith("bearer "):
            return "no bearer token"
        token = authorization[7:].strip()
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return "unknown token"
            if entry[2] <= now:
                del self._tokens[token]
                return "token expired"
        return None


def _pick_key(jwks: dict[str, Any], kid: str | None, alg: str) -> Any:
    keys = jwks.get("keys", [])
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    kty = "RSA" if alg.startswith("RS") else "EC"
    candidates = [k for k in candidates if k.get("kty") == kty]
    if not candidates:
        raise TokenRequestRefused("invalid_client", f"no registered {kty} key with kid {kid!r}")
    try:
        return PyJWK(candidates[0], algorithm=alg).key
    except jwt.PyJWTError as e:
        raise TokenRequestRefused("invalid_client", f"registered key unusable: {e}") from e


def _grant_scope(requested: str, allowed: str) -> str:
    """The requested scopes the client is allowed (all allowed when none requested)."""
    allowed_set = allowed.split()
    if not requested.strip():
        return allowed
    granted = [s for s in requested.split() if s in allowed_set or _covered(s, allowed_set)]
    if not granted:
        raise TokenRequestRefused(
            "invalid_scope", f"none of the requested scopes is allowed: {requested}"
        )
    return " ".join(granted)


def _covered(scope: str, allowed: list[str]) -> bool:
    try:
        ctx, rest = scope.split("/", 1)
        _rtype, perm = rest.split(".", 1)
    except ValueError:
        return False
    return any(a in (f"{ctx}/*.{perm}", f"{ctx}/*.*", f"{ctx}/*.rs") for a in allowed) or (
        perm in ("read", "rs") and f"{ctx}/*.read" in allowed
    )
