"""The sync client against a malicious or broken EHR (property-based): search pages and
NDJSON export lines that are malformed, truncated, spliced with bytes, huge or nested
deeper than any parser recurses. Whatever comes, the sync quarantines it or refuses the
page with a clear error, never crashes, and never loses what the replica already holds.

The default suite runs 150 cases; `-m slow` runs 3,000 more."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.store.base import Store
from standby.store.sqlite import SQLiteStore
from standby.sync.bundles import BundleReader
from standby.sync.deletes import HistoryDeletes
from standby.sync.http import FhirClient
from standby.sync.replica_writer import ReplicaWriter
from support.sync_pages import BASE, one_round

HELD = (
    b'{"resourceType":"Patient","id":"held0",'
    b'"meta":{"versionId":"7","lastUpdated":"2026-11-28T10:00:00.000Z"}}'
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
resources = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(["Observation", "Patient", "Encounter", "Spaceship", ""]),
        "id": st.from_regex(r"[a-z]{1,4}", fullmatch=True) | st.text(max_size=5),
    },
    optional={
        "meta": st.fixed_dictionaries({"versionId": st.sampled_from(["1", "2", "x"])}) | values,
        "status": values,
        "subject": st.just({"reference": "Patient/held0"}),
    },
)
SNIPPETS = [
    b"1e400",
    b"123456789012345678901234567890",
    b"-1e400",
    b'"\\ud83d"',
    b"NaN",
    b"\xff\xfe",
    b"[" * 3000,
    b"{" * 3000,
    b'"' + b"x" * 300_000 + b'"',
    b"]}",
    b"\x00",
    b'{"resourceType":"OperationOutcome","issue":[{"severity":"fatal"}]}',
]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    how = draw(st.sampled_from(["as is", "truncate", "splice", "snippet", "nest"]))
    if how == "as is" or not base:
        return base
    i = draw(st.integers(0, len(base)))
    if how == "truncate":
        return base[:i]
    if how == "splice":
        j = draw(st.integers(i, min(len(base), i + 20)))
        return base[:i] + draw(st.binary(max_size=12)) + base[j:]
    if how == "snippet":
        return base[:i] + draw(st.sampled_from(SNIPPETS)) + base[i:]
    depth = draw(st.integers(500, 50_000))
    return base[:i] + b"[" * depth + b"]" * depth + base[i:]


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    entries = draw(st.lists(resources, max_size=6))
    page = {
        "resourceType": "Bundle",
        "type": draw(st.sampled_from(["searchset", "history"])),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in entries]
        + [
            {"request": {"method": "DELETE", "url": f"Observation/{i}"}, "response": d}
            for i, d in draw(st.lists(st.tuples(st.text(max_size=4), values), max_size=3))
        ],
    }
    return draw(mutated(orjson.dumps(page)))


@st.composite
def ndjson(draw: st.DrawFn) -> list[bytes]:
    lines = [orjson.dumps(r) for r in draw(st.lists(resources, max_size=6))]
    return [draw(mutated(line)) + b"\n" for line in lines]


@pytest.fixture(scope="module")
def replica() -> Iterator[Store]:
    with tempfile.TemporaryDirectory(prefix="standby-fuzz-") as tmp:
        store = SQLiteStore(Path(tmp) / "r.db")
        store.max_resource_bytes = 200_000
        store.upsert(HELD)
        yield store
        store.close()


def still_held(store: Store) -> None:
    held = store.read("Patient", "held0")
    assert held is not None and not held.deleted and held.body == HELD


def check_page(store: Store, raw: bytes) -> None:
    try:
        reader = BundleReader(raw)
    except ValueError as e:
        assert str(e)  # a clear refusal of the whole page
    else:
        for entry in reader.entries():
            assert entry.error is None or entry.raw is not None
    result = one_round(store, {"Observation": raw}, max_bytes=200_000)  # never raises
    assert result.ok or result.failed >= 1
    still_held(store)
    check_history(store, raw)


def check_history(store: Store, raw: bytes) -> None:
    """The same page as the answer to `_history`: deletes read, nothing else touched."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"Date": "Sat, 28 Nov 2026 10:00:00 GMT"})

    store.set_checkpoint("sync:fz:history", "2026-11-28T09:00:00.000Z")
    client = FhirClient(BASE, transport=httpx.MockTransport(answer), rate=0)
    writer = ReplicaWriter(store, "fz", max_bytes=200_000)
    try:
        got = HistoryDeletes(client, store, writer, "fz", ["Observation"]).run(datetime.now(UTC))
    finally:
        client.close()
    assert got.ok or got.error
    still_held(store)


def check_lines(store: Store, lines: list[bytes]) -> None:
    report = store.ingest_ndjson(lines, file="fuzz.ndjson")
    blank = sum(1 for line in lines if not line.strip())
    assert report.lines == len(lines)
    assert report.written + report.unchanged + report.quarantined + blank >= report.lines
    still_held(store)


FAST = settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLOW = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(raw=pages())
def test_search_pages_never_crash_the_sync(replica: Store, raw: bytes) -> None:
    check_page(replica, raw)


@FAST
@given(lines=ndjson())
def test_ndjson_lines_never_crash_the_ingest(replica: Store, lines: list[bytes]) -> None:
    check_lines(replica, lines)


@pytest.mark.slow
@SLOW
@given(raw=pages())
def test_search_pages_never_crash_the_sync_many(replica: Store, raw: bytes) -> None:
    check_page(replica, raw)


@pytest.mark.slow
@SLOW
@given(lines=ndjson())
def test_ndjson_lines_never_crash_the_ingest_many(replica: Store, lines: list[bytes]) -> None:
    check_lines(replica, lines)
