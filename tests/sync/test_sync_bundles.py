"""Reading Bundles verbatim and NDJSON lines with a size cap."""

from __future__ import annotations

import orjson

from standby.store.ingest import split_lines
from standby.sync.bundles import parse_bundle, resource_spans

BUNDLE = (
    b'{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://x/n"}],'
    b'"entry":[{"fullUrl":"a","resource":{"resourceType":"Observation","id":"o1",'
    b'"valueQuantity":{"value":1.50,"unit":"mg"},"note":[{"text":"a \\"quoted\\" } brace"}]},'
    b'"search":{"mode":"match"}},'
    b'{"resource":{"resourceType":"Patient","id":"p1","meta":{"versionId":"2"}},'
    b'"search":{"mode":"include"}}]}'
)


def test_resources_are_kept_as_the_exact_text_sent():
    page = parse_bundle(BUNDLE)
    assert page.next_url == "http://x/n"
    first, second = page.entries
    assert b'"value":1.50' in first.raw  # decimal precision kept
    assert orjson.loads(first.raw)["id"] == "o1"
    assert second.raw == b'{"resourceType":"Patient","id":"p1","meta":{"versionId":"2"}}'
    assert second.mode == "include"
    assert len(resource_spans(BUNDLE)) == 2


def test_split_lines_splits_across_chunks_and_caps_long_lines():
    chunks = [b'{"a":1}\n{"b"', b":2}\n", b"x" * 100, b"y" * 100, b"\nlast"]
    got = list(split_lines(chunks, max_bytes=50))
    assert got[0] == (b'{"a":1}', 7)
    assert got[1] == (b'{"b":2}', 7)
    line, size = got[2]
    assert size == 200 and len(line) <= 65536
    assert got[3] == (b"last", 4)
