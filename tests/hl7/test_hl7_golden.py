"""A faster reader must not change what a message becomes: the field view and mapping output
of every sample message equal those recorded from the reader before it was made faster."""

from __future__ import annotations

import orjson

from support.hl7_golden import GOLDEN, document


def test_field_view_and_mappings_equal_the_recorded_ones() -> None:
    want = orjson.loads(GOLDEN.read_bytes())
    got = orjson.loads(orjson.dumps(document(), option=orjson.OPT_SORT_KEYS))
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
