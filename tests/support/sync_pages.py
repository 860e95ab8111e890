"""Search answers written by hand, served by an httpx MockTransport, and one round of the
type-mode sync over them: for tests of what the sync does with what a page holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from standby.store.base import Store
from standby.sync.census import CensusConfig
from standby.sync.http import FhirClient
from standby.sync.incremental import IncrementalSync, RoundResult

BASE = "http://ehr.test/fhir"


def bundle(*entries: bytes, next_url: str | None = None) -> bytes:
    link = b""
    if next_url:
        link = b'"link":[{"relation":"next","url":"' + next_url.encode() + b'"}],'
    return (
        b'{"resourceType":"Bundle","type":"searchset",'
        + link
        + b'"entry":['
        + b",".join(entries)
        + b"]}"
    )


def entry(resource: bytes, mode: str = "match") -> bytes:
    return b'{"resource":' + resource + b',"search":{"mode":"' + mode.encode() + b'"}}'


def one_round(
    store: Store,
    answers: Mapping[str, bytes] | Callable[[httpx.Request], bytes],
    types: tuple[str, ...] = ("Observation",),
    max_bytes: int = 16 * 1024 * 1024,
) -> RoundResult:
    """One type-mode round over `types`; each search of type T answers `answers[T]` (or
    what `answers(request)` returns)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if callable(answers):
            body = answers(request)
        else:
            body = answers.get(request.url.path.rsplit("/", 1)[-1], bundle())
        return httpx.Response(200, content=body, headers={"Content-Type": "application/fhir+json"})

    client = FhirClient(BASE, transport=httpx.MockTransport(answer), rate=0)
    cfg = CensusConfig(source="ehr", patient_types=types, shared_types=())
    sync = IncrementalSync(
        client, store, cfg, mode="type", types=list(types), workers=1, max_bytes=max_bytes
    )
    try:
        return sync.run_round()
    finally:
        sync.close()
        client.close()
