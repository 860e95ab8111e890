"""The after-action report's "time to first documentation": from the declaration to the
first journal entry recorded in that downtime (drill entries for a drill, real ones for a
real downtime; nothing from before it or after its end), overall and per unit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from standby import clinical
from standby.clinical.documentation_times import UNPLACED, first_documentation
from standby.journal import repository
from standby.journal.entries import Kind, make_entry
from standby.monitor import after_action, drills, incidents
from standby.monitor import schema as monitor_schema
from support.reports_support import NOW, load_ndjson

T = NOW + timedelta(hours=1)  # the declaration


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("first-doc") / "ndjson"
    generate_hospital(20, 7, data, now=NOW)
    store = load_ndjson(data, tmp_path_factory.mktemp("db") / "replica.db")
    yield store
    store.close()


def _two_units(store: Any) -> list[tuple[str, str]]:
    """(unit label, a patient on it) for two units."""
    out = []
    for u in clinical.units(store):
        beds = [b for b in clinical.unit_census(store, u.id, NOW).beds if b.patient]
        if beds:
            out.append((u.label, beds[0].patient.id))  # type: ignore[union-attr]
    assert len(out) >= 2
    return out[:2]


def _note(pid: str, at: Any, *, drill: bool = False) -> Any:
    return make_entry(
        Kind.NOTE,
        patient_id=pid,
        author="rn.lee",
        author_name="Dana Lee, RN",
        role="nurse",
        node="n1",
        now=at,
        payload={"note_type": "nursing", "title": "Shift", "text": "Stable."},
        drill=drill,
    )


def _incident(store: Any, at: Any, *, drill: bool, ended: Any = None) -> str:
    monitor_schema.ensure(store)
    with store.transaction() as tx:
        iid = incidents.open_incident(
            tx, at=at, declared_by="ic.jones", how="manual", drill=drill, outage_started_at=None
        )
        if ended is not None:
            incidents.close_incident(tx, iid, ended, "ic.jones")
    return iid


def _documentation(store: Any) -> after_action.FirstDocumentation:
    return lambda since, until, drill: first_documentation(
        store, since, until, drill=drill, now=NOW
    )


def test_time_to_first_documentation_overall_and_per_unit(replica: Any) -> None:
    (unit_a, pa), (unit_b, pb) = _two_units(replica)
    iid = _incident(replica, T, drill=False, ended=T + timedelta(hours=6))
    repository.append(
        replica,
        [
            _note(pa, T - timedelta(minutes=30)),  # before the declaration: not this one
            _note(pb, T + timedelta(minutes=1), drill=True),  # a drill's: not a real one's
            _note(pa, T + timedelta(minutes=7)),
            _note(pb, T + timedelta(minutes=12)),
            _note("registered-during-downtime", T + timedelta(minutes=20)),
            _note(pb, T + timedelta(hours=7)),  # after the end
        ],
    )
    report = after_action.build(replica, iid, documentation=_documentation(replica))
    assert dict(report.figures())["Time to first documentation"] == "0:07:00"
    assert report.units_first_documented == [
        (unit_a, T + timedelta(minutes=7)),
        (unit_b, T + timedelta(minutes=12)),
        (UNPLACED, T + timedelta(minutes=20)),
    ]
    md = after_action.markdown(report)
    assert f"| {unit_b} | {(T + timedelta(minutes=12)):%Y-%m-%d %H:%M:%S} | 0:12:00 |" in md
    pdf = after_action.pdf(report)
    assert pdf.startswith(b"%PDF")


def test_a_drill_counts_only_drill_entries(replica: Any) -> None:
    (_, pa), _ = _two_units(replica)
    start = T + timedelta(days=1)
    iid = _incident(replica, start, drill=True)
    repository.append(
        replica,
        [
            _note(pa, start + timedelta(seconds=30)),
            _note(pa, start + timedelta(seconds=95), drill=True),
        ],
    )
    report = after_action.build(replica, iid, documentation=_documentation(replica))
    assert dict(report.figures())["Time to first documentation"] == "95 s"
    rep = drills.report(replica, iid, _documentation(replica))
    assert rep.time_to_first_documentation == "95 s"


def test_no_entry_yet_reads_not_available(replica: Any) -> None:
    start = T + timedelta(days=2)
    iid = _incident(replica, start, drill=False)
    report = after_action.build(replica, iid, documentation=_documentation(replica))
    assert dict(report.figures())["Time to first documentation"] == after_action.NOT_YET
    assert report.units_first_documented == []
    assert "First documentation by unit" not in after_action.markdown(report)
