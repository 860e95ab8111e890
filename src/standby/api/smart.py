"""SMART Backend Services for the API's clients
(https://hl7.org/fhir/smart-app-launch/backend-services.html).

A client is registered with its public JWKS and the scopes it may have (`standby clients
add --jwks ...`). It asks `POST /fhir/auth/token` for an access token with
`grant_type=client_credentials` and a signed client assertion (RS384 or ES384; `iss` ==
`sub` == client_id; `aud` == the token URL; `exp` at most five minutes ahead; a `jti` never
used before), and sends the token as `Authorization: Bearer` on every request.

Access tokens are short JWTs signed (HS256) with a key kept in the replica database, so
that every worker process checks them without a query; the client's registration is looked
up again (cached a few seconds) so that `standby clients remove` takes effect at once.
A token whose signature has been verified is remembered in the process until its `exp`
(`VERIFIED_MAX` of them at most): later requests with it skip the signature check (a
tenth of the CPU of a read) but not the expiry nor the registration's revocation check.

Scopes: SMART v1 `system/Patient.read`, `system/*.read` (read and search) and v2
`system/Patient.rs`, `system/*.r` ... (letters of `cruds`; only `r` read and `s` search
mean anything on a read-only replica). They are checked per resource type on every
request (`Grant.allows`).
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from standby.api import schema
from standby.clock import instant, now
from standby.store.base import Store

ALGS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300  # seconds, the spec's ceiling
TOKEN_SECONDS = 300
VERIFIED_MAX = 10_000  # verified tokens remembered per process (each until its exp)
_SCOPE = re.compile(r"system/(\*|[A-Z][A-Za-z]+)\.(read|\*|[cruds]+)")


class TokenRequestRefused(Exception):
    """The token endpoint refuses a request: `error` is the RFC 6749 §5.2 code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    jwks: dict[str, Any]
    scope: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Grant:
    """What an access token lets its client do: per resource type ("*" for all), the
    letters `r` (read, vread, instance history) and `s` (search, type and system history)."""

    client_id: str
    scope: str

    def letters(self, resource_type: str) -> frozenset[str]:
        return _letters(self.scope, resource_type)

    def allows(self, resource_type: str, letter: str) -> bool:
        return letter in self.letters(resource_type)


@functools.lru_cache(maxsize=4096)
def _letters(scope: str, resource_type: str) -> frozenset[str]:
    """What `scope` allows on `resource_type` (asked several times by every request)."""
    out: set[str] = set()
    for s in scope.split():
        m = _SCOPE.fullmatch(s)
        if m and m.group(1) in ("*", resource_type):
            perm = m.group(2)
            out |= {"r", "s"} if perm in ("read", "*") else set(perm) & {"r", "s"}
    return frozenset(out)


def narrow(scope: str) -> str | None:
    """One SMART system scope cut to what a read-only replica grants: v1 `.read` stays and
    `.*` becomes `.read`; v2 letters keep `r` and `s` (`cruds` → `rs`). None when nothing
    readable is left (`.cud`) or it is not a system scope."""
    m = _SCOPE.fullmatch(scope)
    if m is None:
        return None
    rtype, perm = m.groups()
    if perm in ("read", "*"):
        return f"system/{rtype}.read"
    kept = "".join(c for c in "rs" if c in perm)
    return f"system/{rtype}.{kept}" if kept else None


def _narrowed(scopes: list[str]) -> str:
    return " ".join(dict.fromkeys(n for s in scopes if (n := narrow(s))))


def check_scope(scope: str) -> str:
    """The scope as registered, narrowed to read and search (`narrow`); ValueError naming
    a scope that is not a SMART system scope or that allows neither."""
    parts = scope.split()
    bad = [s for s in parts if not _SCOPE.fullmatch(s)]
    if bad or not parts:
        raise ValueError(
            f"not a SMART system scope: {' '.join(bad) or '(none)'} (examples: "
            "system/*.read, system/Patient.read, system/Observation.rs)"
        )
    unreadable = [s for s in parts if narrow(s) is None]
    if unreadable:
        raise ValueError(
            f"{' '.join(unreadable)} allows neither read (r) nor search (s): this replica"
            " is read-only and grants nothing else (examples: system/Patient.rs)"
        )
    return _narrowed(parts)


# ---- registration -------------------------------------------------------------------------
def add_client(
    store: Store, *, name: str, jwks: dict[str, Any], scope: str, client_id: str | None = None
) -> Client:
    """Register a client (a new id unless given); ValueError on an unusable JWKS or scope."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError("the JWKS must be a JWK Set with at least one key ({'keys': [...]})")
    for k in keys:
        alg = "RS384" if k.get("kty") == "RSA" else "ES384"
        try:
            PyJWK(k, algorithm=alg)
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise ValueError(
                f"key {k.get('kid')!r} is not a usable RSA or EC P-384 key: {e}"
            ) from e
        if any(p in k for p in ("d", "p", "q")):
            raise ValueError(f"key {k.get('kid')!r} holds a private part: register the public JWKS")
    if client_id is None:
        # never a leading "-": `standby clients remove <id>` would take it for an option
        client_id = secrets.token_urlsafe(12)
        while client_id.startswith("-"):
            client_id = secrets.token_urlsafe(12)
    client = Client(client_id, name, jwks, check_scope(scope), instant(now()))
    schema.ensure(store)
    with store.transaction() as tx:
        if tx.query("SELECT 1 FROM fhir_api_clients WHERE client_id = ?", (client.client_id,)):
            raise ValueError(f"client {client.client_id} is already registered")
        tx.execute(
            "INSERT INTO fhir_api_clients (client_id, name, jwks, scope, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (client.client_id, name, json.dumps(jwks), client.scope, client.created_at),
        )
    return client


def remove_client(store: Store, client_id: str) -> bool:
    """Revoke a client (its row kept, stamped): its tokens stop working within seconds."""
    schema.ensure(store)
    with store.transaction() as tx:
        n = tx.execute(
            "UPDATE fhir_api_clients SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
            (instant(now()), client_id),
        )
    return n > 0


def list_clients(store: Store) -> list[Client]:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT client_id, name, jwks, scope, created_at FROM fhir_api_clients"
            " WHERE revoked_at IS NULL ORDER BY created_at, client_id"
        )
    return [Client(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]


# ---- the authorization server -------------------------------------------------------------
class Authority:
    """Issues and checks access tokens for one store (one per app; thread-safe)."""

    def __init__(
        self,
        store: Store,
        *,
        cache_seconds: float = 2.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        schema.ensure(store)
        self._secret = _signing_secret(store)
        self._cache_seconds = cache_seconds
        self._wall = wall  # the clock tokens' `exp` is compared with
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._loaded = -1e9
        self._verified: dict[str, tuple[str, str, float]] = {}  # token -> sub, scope, exp

    def client(self, client_id: str, *, fresh: bool = False) -> Client | None:
        """The registration (None: unknown or removed), re-read at most every few seconds
        for the checks of every request; `fresh` re-reads it now (a token request)."""
        with self._lock:
            if fresh or time.monotonic() - self._loaded > self._cache_seconds:
                self._clients = {c.client_id: c for c in list_clients(self.store)}
                self._loaded = time.monotonic()
            return self._clients.get(client_id)

    def issue(
        self, form: dict[str, str], token_url: str | list[str], at: float | None = None
    ) -> dict[str, Any]:
        """Check a client_credentials request: the token response, or TokenRequestRefused.
        `token_url`: the endpoint's URL (or URLs) the assertion's `aud` must name."""
        at = time.time() if at is None else at
        audiences = [token_url] if isinstance(token_url, str) else list(token_url)
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
        if not isinstance(cid, str) or claims.get("sub") != cid:
            raise TokenRequestRefused("invalid_client", "iss and sub must both be the client_id")
        client = self.client(cid, fresh=True)  # a client removed a moment ago gets nothing
        if client is None:
            raise TokenRequestRefused("invalid_client", "unknown or revoked client")
        key = _pick_key(client.jwks, header.get("kid"), alg)
        try:
            jwt.decode(
                assertion,
                key=key,
                algorithms=[alg],
                audience=audiences,
                options={"require": ["exp", "jti", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenRequestRefused("invalid_client", "client_assertion has expired") from e
        except jwt.InvalidAudienceError as e:
            raise TokenRequestRefused(
                "invalid_client", f"aud must be {' or '.join(audiences)}"
            ) from e
        except jwt.PyJWTError as e:
            raise TokenRequestRefused("invalid_client", f"client_assertion rejected: {e}") from e
        exp = float(claims["exp"])
        if exp > at + MAX_ASSERTION_LIFETIME + 5:
            raise TokenRequestRefused("invalid_client", "exp is more than five minutes ahead")
        scope = _grant_scope(form.get("scope", ""), client.scope)
        self._use_jti(str(claims["jti"]), cid, exp, at)
        token = jwt.encode(
            {"sub": cid, "scope": scope, "exp": int(at) + TOKEN_SECONDS, "iat": int(at)},
            self._secret,
            algorithm="HS256",
        )
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": scope,
        }

    def _use_jti(self, jti: str, client_id: str, exp: float, at: float) -> None:
        """Refuse an assertion id seen before (replay), in the database so that every worker
        process sees it; ids whose assertion has expired are forgotten."""
        with self.store.transaction() as tx:
            tx.execute("DELETE FROM fhir_api_jti WHERE expires < ?", (at - 60,))
            # one statement decides: two workers given the same assertion at once (a
            # SELECT first let both through to the INSERT; PostgreSQL's second one failed
            # with a unique violation, a 500) get one token and one refusal
            added = tx.execute(
                "INSERT INTO fhir_api_jti (jti, client_id, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (jti) DO NOTHING",
                (jti, client_id, exp),
            )
        if not added:
            raise TokenRequestRefused("invalid_client", "jti has been used already")

    def check(self, authorization: str | None) -> Grant | str:
        """The grant of a valid bearer token, else why not (for the 401's diagnostics)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "no bearer token (get one at the token endpoint: SMART Backend Services)"
        token = authorization[7:].strip()
        known = self._verified.get(token)
        if known is None:
            try:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    options={"require": ["exp", "sub", "scope"]},
                )
            except jwt.ExpiredSignatureError:
                return "the access token has expired"
            except jwt.PyJWTError:
                return "the access token is not one this server issued"
            known = (str(claims["sub"]), str(claims["scope"]), float(claims["exp"]))
            self._remember(token, known)
        cid, scope, exp = known
        if exp <= self._wall():  # as PyJWT decides it (no leeway)
            self._verified.pop(token, None)
            return "the access token has expired"
        if self.client(cid) is None:
            return "the client has been removed"
        return Grant(cid, scope)

    def _remember(self, token: str, verified: tuple[str, str, float]) -> None:
        with self._lock:
            if len(self._verified) >= VERIFIED_MAX:
                now = self._wall()
                self._verified = {t: v for t, v in self._verified.items() if v[2] > now}
                if len(self._verified) >= VERIFIED_MAX:  # all still valid: start again
                    self._verified = {}
            self._verified[token] = verified


def _signing_secret(store: Store) -> str:
    """The key access tokens are signed with, made by whichever worker process starts first
    (the others, starting at the same moment, keep the first one's)."""
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO fhir_api_key (id, secret) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
            (secrets.token_urlsafe(48),),
        )
        return str(tx.query("SELECT secret FROM fhir_api_key WHERE id = 1")[0][0])


def _pick_key(jwks: dict[str, Any], kid: str | None, alg: str) -> Any:
    kty = "RSA" if alg.startswith("RS") else "EC"
    candidates = [
        k
        for k in jwks.get("keys", [])
        if (kid is None or k.get("kid") == kid) and k.get("kty") == kty
    ]
    if not candidates:
        raise TokenRequestRefused("invalid_client", f"no registered {kty} key with kid {kid!r}")
    try:
        return PyJWK(candidates[0], algorithm=alg).key
    except jwt.PyJWTError as e:
        raise TokenRequestRefused("invalid_client", f"registered key unusable: {e}") from e


def _grant_scope(requested: str, allowed: str) -> str:
    """The requested scopes the registration covers, as granted: narrowed to read and
    search (`system/Location.cruds` → `system/Location.rs`); all registered when none
    requested. invalid_scope when nothing readable is left."""
    if not requested.strip():
        return _narrowed(allowed.split())  # a registration older than the narrowing
    registered = Grant("", allowed)
    granted = []
    for s in requested.split():
        n = narrow(s)
        if n is None:
            continue
        rtype = n.split("/", 1)[1].rsplit(".", 1)[0]
        want = Grant("", n).letters(rtype)
        if want and want <= registered.letters(rtype):
            granted.append(n)
    if not granted:
        raise TokenRequestRefused(
            "invalid_scope",
            "none of the requested scopes allows read or search and is registered for this"
            f" client: {requested}",
        )
    return " ".join(dict.fromkeys(granted))


def audience_warning(store: Store, base_urls: str) -> str | None:
    """What `standby serve` warns of at start-up: clients are registered and
    `STANDBY_FHIR_BASE_URL` is unset, so the token endpoint takes an assertion addressed to
    whatever host the request names (None: nothing to warn of)."""
    if base_urls.strip():
        return None
    try:
        clients = list_clients(store)
    except Exception:  # a replica without the API's tables yet: no client registered
        return None
    if not clients:
        return None
    return (
        f"STANDBY_FHIR_BASE_URL is not set and {len(clients)} FHIR API client(s) are"
        " registered: the token endpoint takes a client assertion addressed to whatever host"
        " the request names, so another server the client also signs in to (another"
        " Standby, an edge node) can replay its assertion here. Set STANDBY_FHIR_BASE_URL to"
        " this node's public FHIR base URL(s), comma-separated, as clients address it"
        " (e.g. https://standby.hospital.example/fhir)."
    )
