"""The synthetic hospital keeps the hospital's clock: in New York a 09:00 dose is given
near 09:00 New York time (14:00Z in winter, 13:00Z in summer), and the MAR read in New
York shows no dose the generator gave on schedule as overdue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.clinical.summary import build_summary
from standby.sim.generate import generate_hospital
from standby.sim.server import load_store

NEW_YORK = ZoneInfo("America/New_York")
WINTER = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)  # 15:00 EST
SUMMER = datetime(2026, 7, 15, 19, 0, tzinfo=UTC)  # 15:00 EDT
SPRUNG = datetime(2026, 3, 9, 19, 0, tzinfo=UTC)  # the day after the clocks went forward
FELL = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # the day after the clocks went back
EARLY, LATE = timedelta(minutes=15), timedelta(minutes=40)  # how the generator gives doses


def _read(out: Path, rtype: str) -> Iterator[dict[str, Any]]:
    with (out / f"{rtype}.ndjson").open("rb") as fh:
        for line in fh:
            yield orjson.loads(line)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _scheduled_local_times(order: dict[str, Any], day: datetime) -> list[datetime]:
    """The order's dose times in New York on the local days around `day`: each timeOfDay
    at that wall-clock time; every N real hours from the order's first dose (its
    `boundsPeriod.start`), as the MAR counts them."""
    repeat = order["dosageInstruction"][0]["timing"]["repeat"]
    out: list[datetime] = []
    if "timeOfDay" in repeat:
        for back in (-1, 0, 1):
            date = (day + timedelta(days=back)).date()
            for text in repeat["timeOfDay"]:
                h, m = int(text[:2]), int(text[3:5])
                out.append(datetime(date.year, date.month, date.day, h, m, tzinfo=NEW_YORK))
        return out
    anchor = _at(repeat["boundsPeriod"]["start"])
    every = timedelta(hours=repeat["period"])
    k = (day.astimezone(UTC) - anchor.astimezone(UTC)) // every
    return [(anchor.astimezone(UTC) + (k + d) * every) for d in (-1, 0, 1)]


@pytest.mark.parametrize(
    "now",
    [WINTER, SUMMER, SPRUNG, FELL],
    ids=["winter", "summer", "after-spring-forward", "after-fall-back"],
)
def test_new_york_doses_are_given_at_new_york_clock_times(tmp_path: Path, now: datetime) -> None:
    generate_hospital(20, 4, tmp_path, now=now, zone=NEW_YORK)
    orders = {o["id"]: o for o in _read(tmp_path, "MedicationRequest")}
    checked = 0
    for ma in _read(tmp_path, "MedicationAdministration"):
        order = orders[ma["request"]["reference"].split("/")[1]]
        dosage = order["dosageInstruction"][0]
        if "effectiveDateTime" not in ma or dosage.get("asNeededBoolean"):
            continue
        given = _at(ma["effectiveDateTime"])
        if given == _at(order["authoredOn"]) or given >= now - timedelta(minutes=2):
            continue  # held back to the order's start or to `now`
        local = given.astimezone(NEW_YORK)
        assert any(s - EARLY <= local <= s + LATE for s in _scheduled_local_times(order, local)), (
            f"{order['medicationCodeableConcept']['text']} "
            f"{dosage['timing']['repeat']} given at {local:%H:%M %Z}"
        )
        checked += 1
    assert checked > 50


def test_the_same_seed_now_and_zone_give_identical_bytes(tmp_path: Path) -> None:
    generate_hospital(20, 5, tmp_path / "a", now=SUMMER, zone=NEW_YORK)
    generate_hospital(20, 5, tmp_path / "b", now=SUMMER, zone=NEW_YORK)
    generate_hospital(20, 5, tmp_path / "utc", now=SUMMER)
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
    doses = "MedicationAdministration.ndjson"
    assert (tmp_path / "a" / doses).read_bytes() != (tmp_path / "utc" / doses).read_bytes()


def test_a_new_york_mar_shows_no_dose_given_on_schedule_as_overdue(tmp_path: Path) -> None:
    """The false overdue: doses written on UTC clock times (metoprolol's 21:00 dose given
    at 17:09 EDT) read in New York as missed."""
    generate_hospital(20, 4, tmp_path, now=SUMMER, zone=NEW_YORK)
    store = load_store(tmp_path)
    now = SUMMER.astimezone(NEW_YORK)
    inpatients = {
        e["subject"]["reference"].split("/")[1]
        for e in _read(tmp_path, "Encounter")
        if e["status"] == "in-progress" and e["class"]["code"] == "IMP"
    }
    # the generator stops giving doses up to an hour before `now`: those may be overdue
    untouched = now - timedelta(hours=1)
    overdue: list[str] = []
    doses = 0
    for pid in sorted(inpatients):
        read = build_summary(store, pid, now)
        assert read is not None
        for entry in read.summary.mar.scheduled:
            doses += sum(1 for d in entry.doses if d.state == "given")
            overdue += [
                f"{pid} {entry.medication.name} {entry.medication.frequency} "
                f"{t.astimezone(NEW_YORK):%H:%M}"
                for t in entry.overdue
                if t < untouched
            ]
    assert overdue == []
    assert doses > 20


def test_every_n_hours_doses_count_from_the_first_dose_as_the_mar_does(tmp_path: Path) -> None:
    """q8h first given at 14:00 is 14:00/22:00/06:00, not 00:00/08:00/16:00: the generator
    writes the first dose as the order's start and gives the doses from it, and the MAR
    shows the same times, not marked as derived."""
    generate_hospital(20, 4, tmp_path, now=WINTER, zone=NEW_YORK)
    store = load_store(tmp_path)
    now = WINTER.astimezone(NEW_YORK)
    orders = {o["id"]: o for o in _read(tmp_path, "MedicationRequest")}
    starts: set[str] = set()
    checked = 0
    for pid in sorted({o["subject"]["reference"].split("/")[1] for o in orders.values()}):
        read = build_summary(store, pid, now)
        if read is None:
            continue
        for entry in read.summary.mar.scheduled:
            repeat = orders[entry.medication.id]["dosageInstruction"][0]["timing"]["repeat"]
            if repeat.get("periodUnit") != "h":
                continue
            first = _at(repeat["boundsPeriod"]["start"])
            starts.add(f"{first.astimezone(NEW_YORK):%H:%M}")
            every = timedelta(hours=repeat["period"])
            assert entry.derived_note == ""
            for t in entry.upcoming:
                assert (t.astimezone(UTC) - first) % every == timedelta(0), entry.medication
            checked += 1
    assert checked > 5
    # first doses at the time of day the order was written, not all on midnight's grid
    assert not starts <= {f"{h:02d}:00" for h in range(0, 24, 2)}


def test_cli_generates_in_the_zone_given_and_rejects_an_unknown_one(tmp_path: Path) -> None:
    args = ["sim", "generate", "--beds", "20", "--seed", "4", "--now", "2026-07-15T19:00:00Z"]
    result = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "ny"), "--timezone", "America/New_York"]
    )
    assert result.exit_code == 0, result.output
    generate_hospital(20, 4, tmp_path / "direct", now=SUMMER, zone=NEW_YORK)
    name = "MedicationAdministration.ndjson"
    assert (tmp_path / "ny" / name).read_bytes() == (tmp_path / "direct" / name).read_bytes()
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x"), "--timezone", "Mars/Base"])
    assert bad.exit_code != 0
    assert "--timezone" in bad.output


def test_the_change_feed_gives_new_york_doses_when_they_are_due(tmp_path: Path) -> None:
    from standby.sim.changes import ChangeFeed
    from standby.sim.generate.infusions import CODE_OF

    generate_hospital(20, 4, tmp_path, now=SUMMER, zone=NEW_YORK)
    store = load_store(tmp_path)
    orders = {o["id"]: o for o in _read(tmp_path, "MedicationRequest")}
    feed = ChangeFeed(store, 2, NEW_YORK)
    checked = 0
    for i in range(144):  # twelve hours, a step every five minutes
        now = SUMMER + timedelta(minutes=5 * i)
        for r in feed.step(10, now):
            store.update(r)
            if r["resourceType"] != "MedicationAdministration" or "effectiveDateTime" not in r:
                continue
            order = orders[r["request"]["reference"].split("/")[1]]
            dosage = order["dosageInstruction"][0]
            code = order["medicationCodeableConcept"]["coding"][0]["code"]
            if dosage.get("asNeededBoolean") or code in CODE_OF:
                continue
            local = _at(r["effectiveDateTime"]).astimezone(NEW_YORK)
            assert any(
                s - EARLY <= local <= s + LATE for s in _scheduled_local_times(order, local)
            ), f"{dosage['timing']['repeat']} given at {local:%H:%M %Z}"
            checked += 1
    assert checked > 10
