"""Property-based: the web MAR and the paper MAR give the same dose times. For random
orders (qNh with and without a stated start or a dose given, N a day, at clock times,
PRN, bounded, every N days), random hospital standard times, a random `now` over two
years in several zones, each is read from a real SQLite replica the way its page reads
it — the viewer through its summary cache (`ReadCache.summary`, the census row through
`ReadCache.census_row`), the paper through `unit_census_and_summaries` (the packets and
the unit print) — and the paper MAR's grid is built by `medication_record.mar`. The
times each renderer is given, and the times the paper grid prints, must be the same."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.platypus import Paragraph, Table

from standby.clinical.census import unit_census_and_summaries
from standby.clinical.read_cache import ReadCache
from standby.fhir.census import census_patient
from standby.fhir.display import wall_clock
from standby.fhir.summary import PatientSummary
from standby.reports.medication_record import GRID_STATES, mar
from standby.settings import Settings, standard_times
from standby.store import open_store

ZONES = [
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
]
STANDARD = [
    "",
    "BID=08:00,20:00; daily=10:00",
    "TID=06:00,14:00,22:00; QID=00:00,06:00,12:00,18:00",
]
PLACE: list[dict[str, Any]] = [
    {"resourceType": "Location", "id": "u1", "name": "4 West", "alias": ["4W"],
     "physicalType": {"coding": [{"code": "wi"}]}},
    {"resourceType": "Location", "id": "b1", "name": "401-A",
     "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/u1"}},
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "Prop", "given": ["Ada"]}],
     "identifier": [{"system": "urn:mrn", "value": "MRN-P-1"}], "birthDate": "1950-01-01"},
    {"resourceType": "Encounter", "id": "e1", "status": "in-progress", "class": {"code": "IMP"},
     "subject": {"reference": "Patient/p1"},
     "location": [{"location": {"reference": "Location/b1"}, "status": "active"}],
     "period": {"start": "2025-01-01T00:00:00Z"}},
]  # fmt: skip

instants = st.integers(0, 2 * 365 * 24 * 60 - 1).map(
    lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
)
clock_times = st.lists(
    st.tuples(st.integers(0, 23), st.sampled_from([0, 30])), min_size=1, max_size=3, unique=True
).map(lambda hm: [f"{h:02d}:{m:02d}:00" for h, m in sorted(hm)])


@st.composite
def orders(draw: Any, now: datetime) -> tuple[dict[str, Any], list[datetime]]:
    """One timing (with `prn`) and the times doses of it were given (minutes before now)."""
    kind = draw(st.sampled_from(["qnh", "daily", "times", "prn", "days", "event"]))
    rep: dict[str, Any]
    timing: dict[str, Any]
    if kind == "qnh":
        rep = {"frequency": 1, "period": draw(st.sampled_from([2, 4, 6, 8, 12, 7])),
               "periodUnit": "h"}  # fmt: skip
    elif kind == "daily":
        rep = {"frequency": draw(st.integers(1, 4)), "period": 1, "periodUnit": "d"}
    elif kind == "times":
        rep = {"timeOfDay": draw(clock_times)}
    elif kind == "prn":
        rep = {"frequency": 1, "period": 4, "periodUnit": "h"}
    elif kind == "days":
        rep = {"frequency": 1, "period": draw(st.integers(2, 7)), "periodUnit": "d"}
    else:
        rep = {}
    timing = {"repeat": rep} if rep else {}
    if kind == "event":
        timing["event"] = [
            (now + timedelta(minutes=m)).isoformat()
            for m in draw(st.lists(st.integers(-600, 1400), min_size=1, max_size=3))
        ]
    if rep and draw(st.booleans()):  # a stated start, maybe an end
        start = now - timedelta(minutes=draw(st.integers(-300, 5 * 24 * 60)))
        rep["boundsPeriod"] = {"start": start.isoformat()}
        if draw(st.booleans()):
            rep["boundsPeriod"]["end"] = (
                start + timedelta(hours=draw(st.integers(1, 96)))
            ).isoformat()
    given = [
        now - timedelta(minutes=m) for m in draw(st.lists(st.integers(5, 23 * 60), max_size=2))
    ]
    timing["prn"] = kind == "prn"
    return timing, given


@st.composite
def examples(
    draw: Any,
) -> tuple[ZoneInfo, datetime, str, list[tuple[dict[str, Any], list[datetime]]]]:
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    now = draw(instants).astimezone(tz)
    return (
        tz,
        now,
        draw(st.sampled_from(STANDARD)),
        draw(st.lists(orders(now), min_size=1, max_size=4)),
    )


def _resources(now: datetime, drawn: list[tuple[dict[str, Any], list[datetime]]]) -> list[Any]:
    out: list[Any] = list(PLACE)
    for i, (drawn_timing, doses) in enumerate(drawn):
        timing = dict(drawn_timing)  # the drawn example stays as drawn
        prn = timing.pop("prn")
        out.append({
            "resourceType": "MedicationRequest", "id": f"m{i}", "status": "active",
            "intent": "order", "medicationCodeableConcept": {"text": f"Drug {i}"},
            "subject": {"reference": "Patient/p1"},
            "authoredOn": (now - timedelta(days=6)).astimezone(UTC).isoformat(),
            "dosageInstruction": [{"timing": timing, "asNeededBoolean": prn}],
        })  # fmt: skip
        for j, at in enumerate(doses):
            out.append({
                "resourceType": "MedicationAdministration", "id": f"a{i}-{j}",
                "status": "completed", "medicationCodeableConcept": {"text": f"Drug {i}"},
                "subject": {"reference": "Patient/p1"},
                "request": {"reference": f"MedicationRequest/m{i}"},
                "effectiveDateTime": at.astimezone(UTC).isoformat(),
            })  # fmt: skip
    return out


def _model(s: PatientSummary) -> dict[str, Any]:
    """What the renderers are given of each order: dose times and states, next due,
    overdue, the derived mark; PRN's next allowed."""
    m = s.mar
    return {
        e.medication.id: (
            [(d.time.astimezone(UTC), d.state, d.skipped_time) for d in e.doses],
            e.next_due and e.next_due.astimezone(UTC),
            e.derived_note,
            e.next_allowed,
        )
        for e in [*m.scheduled, *m.prn]
    }


def _texts(x: Any) -> list[str]:
    if isinstance(x, Paragraph):  # its lines, as <br/> breaks them
        text = "".join("\n" if getattr(f, "lineBreak", False) else f.text for f in x.frags)
        return [text]
    if isinstance(x, str):
        return [x] if x else []
    return []


def _paper_grid_times(s: PatientSummary) -> list[tuple[str, str]]:
    """(time as printed, drug) of each row of the paper MAR's grid."""
    out = []
    for f in mar(s):
        if isinstance(f, Table) and f._cellvalues and _texts(f._cellvalues[0][0]) == ["Due"]:
            for row in f._cellvalues[1:]:
                drug = _texts(row[1])
                if drug:  # not a day's heading row
                    out.append((_texts(row[0])[0].split("\n")[0], drug[0]))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_web_and_paper_mars_give_the_same_times(example: Any) -> None:
    tz, now, standard_text, drawn = example
    table = standard_times(Settings(mar_standard_times=standard_text))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(db=Path(tmp) / "r.db")
        try:
            for r in _resources(now, drawn):
                store.upsert(orjson.dumps(r))
            cache = ReadCache(store, max_age=60, standard_times=table)
            web = cache.summary("p1", now)
            row = cache.census_row("p1", now)
            census, summaries = unit_census_and_summaries(store, "u1", now, standard_times=table)
        finally:
            store.close()
    assert web is not None and row is not None and len(summaries) == 1
    paper = summaries[0]
    assert _model(web) == _model(paper)
    # the census's due column: the web's census row is the paper census's
    assert census_patient(row.summary).due == census.patients[0].due
    # the paper grid prints exactly the web model's times, each in the hospital's clock
    expected = sorted(
        (d.time.astimezone(UTC), e.medication.name, d.time.astimezone(tz))
        for e in web.mar.scheduled
        for d in e.doses
        if d.state in GRID_STATES
    )
    printed = _paper_grid_times(paper)
    assert [(wall_clock(t), name) for _u, name, t in expected] == [
        (time, name) for time, name in printed
    ]
