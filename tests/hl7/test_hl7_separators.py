"""A feed may declare separators other than `^~\\&` in MSH-2: every one it declares is used.

The parse plan is made once per set of separators from the message's head; a head cut one
character short lost the last separator declared (the subcomponent one) and split text on
`&` instead, so "Na & K repleted" read as "Na "."""

from __future__ import annotations

import pytest

from standby.hl7.v2 import parse

OBX = "OBX|1|TX|X^Y||Na & K repleted||||||F"


def test_a_declared_subcomponent_separator_is_the_one_used() -> None:
    msg = parse("MSH|^~\\$|LAB|H|S|H|20240101120000||ORU^R01|1|P|2.5\r" + OBX)
    obx = msg.segments[1]
    assert obx.get(5) == "Na & K repleted"


@pytest.mark.parametrize("msh2", ["^~\\&", "^~\\$", "#~\\&"])
def test_text_with_the_default_separators_reads_whole_under_any_declared_set(msh2: str) -> None:
    comp = msh2[0]
    msg = parse(
        f"MSH|{msh2}|LAB|H|S|H|20240101120000||ORU{comp}R01|1|P|2.5\rOBX|1|TX|X||plain text||||||F"
    )
    assert msg.message_type.startswith("ORU")
    assert msg.segments[1].get(5) == "plain text"
