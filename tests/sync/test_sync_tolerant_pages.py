"""A page that orjson cannot read is read again tolerantly: a decimal beyond double range
(`1e400`, valid JSON and valid FHIR) and a lone surrogate (`\\ud83d`) are kept verbatim and
the resources stored; only what still cannot be stored is quarantined, with its type, id,
source URL and reason; the rest of the page is written and the round goes on."""

from __future__ import annotations

from standby.store.sqlite import SQLiteStore
from standby.sync.status import source_status
from support.sync_pages import bundle, entry, one_round

GOOD = (
    b'{"resourceType":"Observation","id":"good","status":"final",'
    b'"subject":{"reference":"Patient/p1"}}'
)
HUGE = (
    b'{"resourceType":"Observation","id":"huge","status":"final",'
    b'"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":1e400,"unit":"mg"}}'
)
LONE = (
    b'{"resourceType":"Observation","id":"lone","status":"final",'
    b'"subject":{"reference":"Patient/p1"},"note":[{"text":"smile \\ud83d here"}]}'
)
# a bare NaN is not JSON at all, in any reading: this one cannot be stored
NAN = b'{"resourceType":"Observation","id":"nan","status":"final","valueInteger":NaN}'


def test_a_decimal_beyond_double_range_and_a_lone_surrogate_are_stored_verbatim(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    result = one_round(store, {"Observation": bundle(entry(GOOD), entry(HUGE), entry(LONE))})
    assert result.ok, result
    assert result.stats.written == 3 and result.stats.quarantined == 0
    huge = store.read("Observation", "huge")
    assert huge is not None and huge.body == HUGE
    assert huge.json()["valueQuantity"]["value"] == "1e400"  # kept as its text
    lone = store.read("Observation", "lone")
    assert lone is not None and lone.body == LONE
    assert "smile" in lone.json()["note"][0]["text"]
    found = store.search("Observation", [("patient", "Patient/p1")])
    assert {r.id for r in found.resources} == {"good", "huge", "lone"}
    store.close()


def test_what_cannot_be_stored_is_quarantined_with_type_id_and_url(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    result = one_round(store, {"Observation": bundle(entry(GOOD), entry(NAN), entry(HUGE))})
    assert result.stats.written == 2 and result.stats.quarantined == 1
    assert store.read("Observation", "good") is not None
    assert store.read("Observation", "huge") is not None
    (item,) = store.quarantined()
    assert (item.resource_type, item.resource_id) == ("Observation", "nan")
    assert item.file is not None and item.file.startswith("http://ehr.test/fhir/Observation")
    assert "JSON" in item.reason
    store.close()


def test_a_truncated_page_keeps_what_it_holds_and_the_stream_is_not_trusted(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    whole = bundle(entry(GOOD), entry(HUGE), entry(LONE))
    cut = whole[: whole.index(b'"id":"lone"')]
    result = one_round(store, {"Observation": cut})
    assert store.read("Observation", "good") is not None
    assert store.read("Observation", "huge") is not None
    assert not result.ok  # the stream's mark must not move past what was not read
    assert store.get_checkpoint("sync:ehr:type:Observation") is None
    (st,) = source_status(store)
    assert st.last_error and "truncated" in st.last_error
    store.close()


def test_an_export_file_line_is_read_tolerantly_and_an_oversize_one_is_named(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    store.max_resource_bytes = 1000
    big = b'{"resourceType":"Observation","id":"big","note":[{"text":"' + b"x" * 2000 + b'"}]}'
    report = store.ingest_ndjson([HUGE + b"\n", LONE + b"\n", big + b"\n"], file="Obs.ndjson")
    assert report.written == 2 and report.quarantined == 1
    held = store.read("Observation", "huge")
    assert held is not None and held.body == HUGE
    (item,) = store.quarantined()
    assert (item.resource_type, item.resource_id, item.line) == ("Observation", "big", 3)
    store.close()
