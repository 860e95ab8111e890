"""OperationOutcomes in a search answer are the server speaking: logged as warnings, and
when their severity is error or fatal the stream's result is not trusted (recorded in
status, the mark does not move). Quarantine rows carry type, id and URL and are recorded
once, however often the source sends the same bad resource again."""

from __future__ import annotations

import logging

from standby.store.sqlite import SQLiteStore
from standby.sync.status import source_status
from support.sync_pages import bundle, entry, one_round

GOOD = b'{"resourceType":"Observation","id":"good","status":"final"}'


def outcome(severity: str, text: str) -> bytes:
    return (
        b'{"resourceType":"OperationOutcome","issue":[{"severity":"'
        + severity.encode()
        + b'","code":"processing","diagnostics":"'
        + text.encode()
        + b'"}]}'
    )


def test_a_warning_outcome_is_logged_and_the_round_is_trusted(tmp_path, caplog):
    store = SQLiteStore(tmp_path / "r.db")
    page = bundle(entry(GOOD), entry(outcome("warning", "results limited"), mode="outcome"))
    with caplog.at_level(logging.WARNING, logger="standby.sync"):
        result = one_round(store, {"Observation": page})
    assert result.ok
    assert store.read("Observation", "good") is not None
    assert any("results limited" in r.getMessage() for r in caplog.records), caplog.text
    assert store.get_checkpoint("sync:ehr:type:Observation") is not None
    store.close()


def test_an_error_outcome_makes_the_stream_untrusted(tmp_path, caplog):
    store = SQLiteStore(tmp_path / "r.db")
    # no search.mode: an OperationOutcome entry is the server's word all the same
    page = bundle(entry(GOOD), b'{"resource":' + outcome("error", "too many matches") + b"}")
    with caplog.at_level(logging.WARNING, logger="standby.sync"):
        result = one_round(store, {"Observation": page})
    assert store.read("Observation", "good") is not None  # what came is kept
    assert not result.ok
    assert store.get_checkpoint("sync:ehr:type:Observation") is None
    (st,) = source_status(store)
    assert st.last_error and "too many matches" in st.last_error
    assert any("too many matches" in r.getMessage() for r in caplog.records)
    store.close()


def test_quarantine_rows_are_recorded_once_with_type_id_and_url(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    big = (
        b'{"resourceType":"Observation","id":"big","status":"final","note":[{"text":"'
        + (b"x" * 5000)
        + b'"}]}'
    )
    bad = b'{"resourceType":"Observation","id":"bad id"}'
    page = bundle(entry(GOOD), entry(big), entry(bad))
    for _ in range(3):  # the overlap window makes the source send them again
        one_round(store, {"Observation": page}, max_bytes=1000)
    items = store.quarantined()
    assert len(items) == 2, [(q.resource_id, q.reason) for q in items]
    by_reason = {("larger" in q.reason): q for q in items}
    oversize = by_reason[True]
    assert (oversize.resource_type, oversize.resource_id) == ("Observation", "big")
    assert all(q.file and q.file.startswith("http://ehr.test/fhir/Observation") for q in items)
    assert by_reason[False].resource_type == "Observation"
    store.close()
