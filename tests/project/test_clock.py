"""`standby.clock`: one stored form for every instant Standby writes (docs/time.md)."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from standby import clock
from standby.clock import PATTERN, instant, parse_instant, rewrite_sql


def test_now_is_aware_utc() -> None:
    t = clock.now()
    assert t.tzinfo is not None and t.utcoffset() == timedelta(0)


def test_instant_is_utc_microseconds_and_z_whatever_the_zone() -> None:
    eastern = datetime(2026, 11, 28, 22, 5, 9, 42, tzinfo=ZoneInfo("America/New_York"))
    assert instant(eastern) == "2026-11-29T03:05:09.000042Z"
    assert instant(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    assert instant(datetime(9, 1, 1, tzinfo=UTC)) == "0009-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="naive"):
        instant(datetime(2026, 1, 1))


def test_text_order_is_time_order() -> None:
    rng = random.Random(7)
    zones = [UTC, ZoneInfo("America/New_York"), timezone(timedelta(hours=5, minutes=30))]
    base = datetime(2026, 11, 29, tzinfo=UTC)
    times = [
        (base + timedelta(microseconds=rng.randrange(-(10**12), 10**12))).astimezone(
            rng.choice(zones)
        )
        for _ in range(2000)
    ]
    times += [base, base + timedelta(microseconds=1), base + timedelta(milliseconds=1)]
    texts = [instant(t) for t in times]
    assert all(re.fullmatch(PATTERN, s) for s in texts)
    assert {len(s) for s in texts} == {27}
    assert sorted(texts) == [instant(t) for t in sorted(times)]


def test_parse_instant_round_trips_and_reads_older_forms() -> None:
    t = datetime(2026, 11, 29, 3, 5, 9, 123456, tzinfo=UTC)
    assert parse_instant(instant(t)) == t
    for old in (
        "2026-11-29T03:05:09.123456+00:00",  # the monitor's old form
        "2026-11-28T22:05:09.123456-05:00",
        "2026-11-29T03:05:09.123456789Z",  # FHIR allows nine digits
    ):
        assert parse_instant(old) == t, old
    assert parse_instant("2026-11-29T03:05:09.123Z") == t.replace(microsecond=123000)
    assert parse_instant("2026-11-29T03:05:09Z") == t.replace(microsecond=0)
    assert parse_instant("2026-11-29T08:35:09+05:30").utcoffset() == timedelta(0)
    assert parse_instant(None) is None


@pytest.mark.parametrize(
    "text", ["", "2026-11-29", "2026-11-29T03:05:09", "yesterday", "20261129T030509Z"]
)
def test_parse_instant_refuses_what_is_not_an_instant(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_rewrite_sql_turns_each_older_form_into_the_stored_form() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a TEXT, b TEXT)")
    old = [
        "2026-11-29T03:05:09.123456+00:00",
        "2026-11-29T03:05:09.123Z",
        "2026-11-29T03:05:09+00:00",
        "2026-11-29T03:05:09Z",
        "2026-11-29T03:05:09.123456Z",
    ]
    db.executemany("INSERT INTO t VALUES (?, ?)", [(v, v) for v in old] + [(None, "x")])
    db.execute(rewrite_sql("t", "a", "b"))
    rows = db.execute("SELECT a, b FROM t").fetchall()
    assert rows == [(instant(parse_instant(v)),) * 2 for v in old] + [(None, "x")]
