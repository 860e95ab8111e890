"""Downtime numbers: ranges per node, handed out once each, never the same on two nodes
whatever the interleaving, and a pre-printed number claimed once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.journal.numbers import NumberError, allocate, claim, parse_range
from standby.store.base import Store
from standby.store.sqlite import SQLiteStore
from support.journal_entries import NOW


def test_a_range_is_written_first_dot_dot_last() -> None:
    r = parse_range("DT4W-0001..DT4W-4999")
    assert (r.prefix, r.start, r.end, r.width) == ("DT4W-", 1, 4999, 4)
    assert r.format(7) == "DT4W-0007" and str(r) == "DT4W-0001..DT4W-4999"
    assert r.number_of("DT4W-0042") == 42
    assert r.number_of("DT4W-42") is None and r.number_of("DTED-0042") is None
    assert parse_range("900000..909999").format(900001) == "900001"


@pytest.mark.parametrize("bad", ["", "DT4W-0001", "DT4W-0001..DTED-0009", "0009..0001", "01..0009"])
def test_a_malformed_range_is_refused_with_an_example(bad: str) -> None:
    with pytest.raises(NumberError):
        parse_range(bad)


def test_ranges_that_could_write_the_same_number_overlap() -> None:
    a, b = parse_range("DT-0001..DT-0500"), parse_range("DT-0400..DT-0900")
    assert a.overlaps(b) and not a.overlaps(parse_range("DT-0501..DT-0900"))
    assert not a.overlaps(parse_range("DU-0001..DU-0500"))


def test_numbers_are_handed_out_in_order_until_the_range_is_used(store: Store) -> None:
    r = parse_range("DT4W-0001..DT4W-0003")
    got = [allocate(store, "mrn", r, "node-4w", NOW) for _ in range(3)]
    assert got == ["DT4W-0001", "DT4W-0002", "DT4W-0003"]
    with pytest.raises(NumberError, match="new range"):
        allocate(store, "mrn", r, "node-4w", NOW)
    assert allocate(store, "encounter", r, "node-4w", NOW) == "DT4W-0001"  # its own kind


def test_a_preprinted_number_is_claimed_once(store: Store) -> None:
    r = parse_range("DT4W-0001..DT4W-0100")
    assert claim(store, "mrn", "DT4W-0050", r, "node-4w", NOW) == "DT4W-0050"
    with pytest.raises(NumberError, match="already"):
        claim(store, "mrn", "DT4W-0050", r, "node-4w", NOW)
    with pytest.raises(NumberError, match="not a downtime"):
        claim(store, "mrn", "DTED-0050", r, "node-4w", NOW)
    # numbers handed out later go past it
    assert allocate(store, "mrn", r, "node-4w", NOW) == "DT4W-0051"


def test_clerks_on_one_node_at_once_never_get_the_same_number(tmp_path: Path) -> None:
    r = parse_range("DT-00001..DT-99999")
    stores = [SQLiteStore(tmp_path / "node.db") for _ in range(4)]  # like 4 worker processes
    got: list[str] = []
    lock = threading.Lock()

    def clerk(s: Store) -> None:
        for _ in range(25):
            n = allocate(s, "mrn", r, "node-4w", NOW)
            with lock:
                got.append(n)

    threads = [threading.Thread(target=clerk, args=(stores[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(got) == len(set(got)) == 200


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=40))
def test_two_nodes_never_hand_out_the_same_number(tmp_path_factory, order: list[str]) -> None:
    """Two nodes (two databases), each with its own range, in any interleaving; a third
    range shares the prefix of the first two without overlapping either."""
    base = tmp_path_factory.mktemp("nodes")
    nodes = {
        "a": (SQLiteStore(base / "a.db"), parse_range("DT-0001..DT-0500")),
        "b": (SQLiteStore(base / "b.db"), parse_range("DT-0501..DT-1000")),
    }
    try:
        got = [allocate(nodes[n][0], "mrn", nodes[n][1], n, NOW) for n in order]
    finally:
        for s, _ in nodes.values():
            s.close()
    assert len(got) == len(set(got))
    for n, value in zip(order, got, strict=True):
        assert nodes[n][1].number_of(value) is not None
