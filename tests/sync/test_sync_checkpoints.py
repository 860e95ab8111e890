"""Checkpoint stream names are made in one place (standby.sync.checkpoints.Streams)."""

from __future__ import annotations

from standby.sync.checkpoints import Streams, pull_group, pulled_patients


def test_stream_names() -> None:
    s = Streams("ehr")
    assert s.census("Observation") == "sync:ehr:census:Observation"
    assert s.type("Location") == "sync:ehr:type:Location"
    assert s.bulk_job == "sync:ehr:bulk:job"
    assert s.bulk_since == "sync:ehr:bulk:since"
    assert s.bulk_file("http://x/f.ndjson") == "sync:ehr:bulk:file:http://x/f.ndjson"
    assert s.search_seed == "sync:ehr:search-seed"
    assert s.holds(s.census("Patient")) and s.holds(s.bulk_job)
    assert not s.holds("sync:other:type:Location") and not s.holds(pull_group(["p1"]))


def test_pull_groups_read_back() -> None:
    assert pulled_patients(pull_group(["p1", "p2"])) == ["p1", "p2"]
    assert pulled_patients(Streams("ehr").census("Patient")) == []
    assert pulled_patients("census-query") == []
