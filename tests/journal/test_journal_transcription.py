"""The pure half of transcription from paper (journal/transcription.py): the time written
on paper, a flowsheet row's measurements, who wrote a row, and when paper may be keyed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from standby.journal import transcription as paper
from standby.journal.entries import EntryError

DAY = date(2026, 11, 30)
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02:10", datetime(2026, 11, 30, 2, 10, tzinfo=UTC)),
        ("0210", datetime(2026, 11, 30, 2, 10, tzinfo=UTC)),
        ("2:10", datetime(2026, 11, 30, 2, 10, tzinfo=UTC)),
        ("2026-11-29 23:50", datetime(2026, 11, 29, 23, 50, tzinfo=UTC)),
    ],
)
def test_the_time_written_on_paper(text: str, expected: datetime) -> None:
    assert paper.paper_time(text, DAY, UTC) == expected


@pytest.mark.parametrize("text", ["", "25:00", "02:61", "two am", "02-10"])
def test_a_time_that_is_not_one_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(EntryError) as e:
        paper.paper_time(text, DAY, UTC)
    assert e.value.field == "time"


def test_a_flowsheet_row_becomes_a_vitals_payload() -> None:
    row = {"bp": "124 / 76", "heart_rate": "88", "temperature_c": "37,1", "spo2": ""}
    assert paper.flowsheet_payload(row) == {
        "systolic": 124,
        "diastolic": 76,
        "heart_rate": 88,
        "temperature_c": 37.1,
    }
    for bad, field in [({"bp": "124"}, "bp"), ({"bp": "124/"}, "bp"), ({"spo2": "nan"}, "spo2")]:
        with pytest.raises(EntryError) as e:
            paper.flowsheet_payload(bad)
        assert e.value.field == field


def test_who_wrote_a_row() -> None:
    nurse = paper.Author("dana", "Dana W", "nurse")
    agency = paper.Author("", "Kim Agency", "nurse")
    accounts = {"dana": nurse}
    assert paper.author_of("", "dana", accounts, None) is nurse  # the sheet's
    assert paper.author_of("other", "dana", accounts, agency) is agency  # the row's own
    for choice, other in [("", None), ("other", None), ("nobody", agency)]:
        with pytest.raises(EntryError):
            paper.author_of(choice, "", accounts, other)


def test_the_window_opens_with_the_downtime_and_closes_after_it() -> None:
    def w(now: datetime, ended: datetime | None, drill: bool = False, **kw: object) -> paper.Window:
        return paper.window(
            declared_at=T0, outage_started_at=T0 - timedelta(minutes=20), ended_at=ended,
            drill=drill, now=now, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    assert not paper.window(
        declared_at=None, outage_started_at=None, ended_at=None, drill=False, now=T0
    ).open
    during = w(T0 + timedelta(hours=1), None)
    assert during.open and not during.drill and during.end is None
    assert during.start == T0 - timedelta(minutes=80)  # the outage's start, less an hour
    assert w(T0, None, drill=True).drill
    end = T0 + timedelta(hours=5)
    after = w(end + timedelta(hours=71), end)
    assert after.open and after.end == end
    assert not w(end + timedelta(hours=73), end).open
    assert not w(end + timedelta(hours=1), end, drill=True).open  # a drill's paper
    started = w(end + timedelta(hours=1), end, back_entry_started_at=end + timedelta(minutes=30))
    assert not started.open and "Back-entry" in started.reason
    with pytest.raises(EntryError):
        paper.within(after, end + timedelta(minutes=1))
    with pytest.raises(EntryError):
        paper.within(after, T0 - timedelta(hours=2))
    paper.within(after, T0)
