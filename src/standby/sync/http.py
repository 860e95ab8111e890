"""One HTTP client for every request the sync makes to the source EHR.

Politeness and faults: at most `concurrency` requests in flight and at most
`rate` requests per second (a token bucket); 429 and 503 wait as `Retry-After` says
(seconds or an HTTP date; https://www.rfc-editor.org/rfc/rfc9110#field.retry-after);
timeouts, connection errors, 502/504 and transient OperationOutcomes
(https://hl7.org/fhir/R4/valueset-issue-type.html: `transient` and its children) back off
exponentially with full jitter; a 401 drops the cached token and tries once more; anything
else is permanent and raises `SourceError` at once.

After every attempt the client tells `on_contact` whether the source answered (any answer
below 500) or not (a connection error, a timeout, a 5xx): what the web header and
`standby status` say about reachability (`standby.sync.status.ContactRecorder`).

One concurrency style: synchronous httpx, shared by a bounded thread pool.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from standby.sync.auth import Auth, AuthError, NoAuth

log = logging.getLogger("standby.sync.http")

RETRY_STATUSES = {429, 500, 502, 503, 504}
TRANSIENT_ISSUES = {"transient", "lock-error", "no-store", "exception", "timeout", "throttled"}
FHIR_JSON = "application/fhir+json"
#: the largest answer read whole (a search page, a manifest); export files are streamed
MAX_RESPONSE_BYTES = 512 * 1024 * 1024


class SourceError(Exception):
    """A request the source answered with a permanent error (or never answered).

    What a remote FHIR server said to us, not what Standby answers its own clients with
    (that is `standby.fhir.outcomes.FhirError`, which carries the OperationOutcome and the
    status to send): kept apart so that a refusal from the EHR can never be passed on to
    a clinician's browser as if it were Standby's own answer."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient


class SourceUnreachable(SourceError):
    """Retries ran out on connection errors / timeouts / 5xx: the source is not answering."""


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def outcome_summary(response: httpx.Response) -> tuple[str, bool]:
    """A short description of an OperationOutcome body and whether it says "transient"."""
    try:
        body = response.json()
    except ValueError:
        return (response.text[:200].strip() or response.reason_phrase), False
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return str(body)[:200], False
    parts: list[str] = []
    transient = False
    for issue in body.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        code = str(issue.get("code", ""))
        transient = transient or code in TRANSIENT_ISSUES
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        parts.append(f"{issue.get('severity', '')}/{code}: {text}".strip())
    return "; ".join(parts)[:300] or "OperationOutcome", transient


class TokenBucket:
    """At most `rate` acquisitions per second, bursts of `burst` (thread-safe)."""

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Take a token; returns how long the caller must sleep first (0 if none)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate


class FhirClient:
    """GET / POST / DELETE against one FHIR base URL with the politeness rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        concurrency: int = 4,
        rate: float = 20.0,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        on_contact: Callable[[bool], None] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_response_bytes = max_response_bytes
        self.auth: Auth = auth or NoAuth()
        self.policy = policy or RetryPolicy()
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._bucket = TokenBucket(rate)
        self._sleep = sleep
        self._rng = random.Random(seed)
        limits = httpx.Limits(max_connections=max(1, concurrency) + 2)
        self._http = httpx.Client(
            timeout=timeout, limits=limits, transport=transport, follow_redirects=True
        )
        self.requests = 0
        self.retries = 0
        self.last_ok: bool | None = None
        self.on_contact = on_contact

    def _contact(self, answered: bool) -> None:
        if self.on_contact is not None:
            self.on_contact(answered)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # ---- the one retry loop ----------------------------------------------------------------
    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        data: Any = None,
        content: bytes | None = None,
    ) -> Iterator[httpx.Response]:
        """Open a request whose status is in `ok` (retrying as the rules say) and yield the
        response with its body unread (stream it: `iter_lines`, `read`). `data`: a form;
        `content`: a body as bytes (back-entry's FHIR JSON)."""
        url = self.url(path)
        # the source's token goes to the source's origin only: a URL the source hands out
        # (a manifest's files, its status URL, a `next` link) may name another host
        ours = (origin := _origin(url)) is not None and origin == _origin(self.base_url)
        attempt = 0
        reauthed = False
        while True:
            wait: float | None = None
            try:
                auth = self.auth.headers() if ours else {}
                req_headers = {"Accept": FHIR_JSON, **(headers or {}), **auth}
            except AuthError:
                self.last_ok = False
                raise
            self._throttle()
            with self._slots:
                self.requests += 1
                try:
                    request = self._http.build_request(
                        method,
                        url,
                        params=params,
                        headers=req_headers,
                        data=data,
                        content=content,
                    )
                    response = self._http.send(request, stream=True)
                except (httpx.TimeoutException, httpx.TransportError) as e:
                    reason = f"{type(e).__name__}"
                    response = None
                    self._contact(False)
                if response is not None:
                    status = response.status_code
                    self._contact(status < 500)
                    if status in ok:
                        self.last_ok = True
                        try:
                            yield response
                        finally:
                            response.close()
                        return
                    response.read()
                    response.close()
                    reason = f"HTTP {status}"
                    if status == 401 and not reauthed and ours:
                        reauthed = True
                        self.auth.invalidate()
                        log.info("401 from source: re-authenticating", extra={"url": _safe(url)})
                        continue
                    summary, transient = outcome_summary(response)
                    if status in RETRY_STATUSES or (status >= 500 and transient) or transient:
                        wait = parse_retry_after(response.headers.get("Retry-After"))
                        if wait is not None:
                            wait = min(wait, self.policy.max_retry_after)
                        reason = f"HTTP {status}: {summary}"
                    else:
                        self.last_ok = status < 500
                        if status == 401 and not ours:
                            summary += " (the source's token is sent to the source's origin only)"
                        raise SourceError(
                            f"{method} {_safe(url)} → HTTP {status}: {summary}", status=status
                        )
            attempt += 1
            if attempt >= self.policy.max_attempts:
                self.last_ok = False
                raise SourceUnreachable(
                    f"{method} {_safe(url)} failed {attempt} times; last: {reason}",
                    transient=True,
                )
            delay = wait if wait is not None else self.policy.backoff(attempt, self._rng)
            self.retries += 1
            log.info(
                "retrying",
                extra={"url": _safe(url), "reason": reason, "attempt": attempt, "delay": delay},
            )
            self._sleep(delay)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A whole (small) response, read into memory: at most `max_response_bytes`, else
        SourceError (a source sending an endless page never fills the memory)."""
        with self.stream(method, path, **kw) as r:
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise SourceError(
                        f"{method} {_safe(str(r.request.url))}: the answer is larger than"
                        f" {self.max_response_bytes >> 20} MB: refused",
                        status=r.status_code,
                    )
                chunks.append(chunk)
            r._content = b"".join(chunks)  # what `read()` does, bounded
            return r

    def get_json(self, path: str, params: Any = None) -> dict[str, Any]:
        r = self.request("GET", path, params=params)
        try:
            body = r.json()
        except ValueError as e:
            raise SourceError(f"GET {_safe(self.url(path))}: not JSON", status=r.status_code) from e
        if not isinstance(body, dict):
            raise SourceError(f"GET {_safe(self.url(path))}: not a JSON object")
        return body

    def _throttle(self) -> None:
        delay = self._bucket.delay()
        if delay > 0:
            self._sleep(delay)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL, the default port made explicit; None for a URL with
    user information (`http://source@elsewhere/` is elsewhere: no one's origin)."""
    u = httpx.URL(url)
    if u.userinfo:
        return None
    port = u.port or {"http": 80, "https": 443}.get(u.scheme)
    return (u.scheme, u.host.lower(), port)


def _safe(url: str) -> str:
    """A URL for logs: without its query string (which may hold patient ids)."""
    return url.split("?", 1)[0]
