"""The polite HTTP client's retry rules ("Politeness and faults" in docs/sync.md), unit level."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from standby.sync.http import (
    FhirClient,
    RetryPolicy,
    SourceError,
    SourceUnreachable,
    TokenBucket,
    parse_retry_after,
)

BASE = "http://ehr.test/fhir"


def scripted(answers):
    """A transport answering from a list: a Response, or an exception to raise."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    return httpx.MockTransport(handler), seen


def client(answers, **kw):
    transport, seen = scripted(answers)
    sleeps: list[float] = []
    c = FhirClient(BASE, transport=transport, sleep=sleeps.append, rate=0, seed=1, **kw)
    return c, seen, sleeps


def oo(code: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code}]}


def test_429_and_503_wait_as_retry_after_says():
    c, seen, sleeps = client(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"resourceType": "Bundle"}),
        ]
    )
    assert c.get_json("Patient")["resourceType"] == "Bundle"
    assert sleeps == [7.0, 2.0]
    assert len(seen) == 3


def test_connection_errors_back_off_exponentially_with_jitter():
    err = httpx.ConnectError("refused")
    c, _, sleeps = client(
        [err, err, err, httpx.Response(200, json={})],
        policy=RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=100.0),
    )
    c.get_json("Patient")
    assert len(sleeps) == 3
    for attempt, s in enumerate(sleeps, start=1):
        assert 0 <= s <= 2**attempt  # full jitter under the exponential cap


def test_retries_run_out_as_source_unreachable():
    c, seen, _ = client(
        [httpx.ReadTimeout("slow")] * 3, policy=RetryPolicy(max_attempts=3, base_delay=0)
    )
    with pytest.raises(SourceUnreachable, match="failed 3 times; last: ReadTimeout"):
        c.get_json("Patient")
    assert len(seen) == 3


def test_permanent_error_is_not_retried_and_names_the_outcome():
    c, seen, sleeps = client([httpx.Response(400, json=oo("invalid"))])
    with pytest.raises(SourceError, match="HTTP 400: error/invalid") as info:
        c.get_json("Observation", params={"patient": "p1"})
    assert info.value.status == 400
    assert "p1" not in str(info.value)  # no query string (patient ids) in messages
    assert len(seen) == 1 and sleeps == []


def test_transient_operation_outcome_is_retried():
    c, seen, _ = client([httpx.Response(400, json=oo("transient")), httpx.Response(200, json={})])
    c.get_json("Patient")
    assert len(seen) == 2


def test_401_drops_the_token_and_tries_once_more():
    class CountingAuth:
        invalidated = 0

        def headers(self):
            return {"Authorization": f"Bearer t{self.invalidated}"}

        def invalidate(self):
            self.invalidated += 1

    auth = CountingAuth()
    transport, seen = scripted(
        [
            httpx.Response(401),
            httpx.Response(200, json={}),
            httpx.Response(401),
            httpx.Response(401),
        ]
    )
    c = FhirClient(BASE, transport=transport, auth=auth, sleep=lambda s: None, rate=0)
    c.get_json("Patient")
    assert auth.invalidated == 1
    assert seen[1].headers["Authorization"] == "Bearer t1"
    with pytest.raises(SourceError, match="HTTP 401"):
        c.get_json("Patient")  # a second 401 in a row is permanent


def test_retry_after_http_date():
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after("nonsense") is None
    assert parse_retry_after("-5") == 0


def test_token_bucket_limits_rate():
    t = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: t[0])
    assert bucket.delay() == 0 and bucket.delay() == 0
    assert bucket.delay() == pytest.approx(0.1)  # the third in the same instant waits
    t[0] += 1.0
    assert bucket.delay() == 0
