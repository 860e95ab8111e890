"""The simulated downtime journal (`journal.simulate`): weeks of a generated hospital's
documentation that a form could have written, in the order written, the same for the
same seed; the read model shows its doses on the MAR as given."""

from __future__ import annotations

import collections
import itertools
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from standby.journal import repository
from standby.journal.bulk_load import load
from standby.journal.entries import Kind, make_entry
from standby.journal.fhir_mapping import to_fhir
from standby.journal.simulate import simulate
from support.r4b import validate
from support.reports_support import NOW, load_ndjson

# the replica stops hearing of charting at NOW (the downtime began); the journal goes on
END = NOW + timedelta(hours=12)


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("sim-journal") / "ndjson"
    generate_hospital(20, 7, data, now=NOW)
    store = load_ndjson(data, tmp_path_factory.mktemp("db") / "replica.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def entries(replica: Any) -> list[Any]:
    return list(simulate(replica, weeks=2, beds=None, seed=3, end=END))


@pytest.fixture(scope="module")
def loaded(replica: Any, entries: list[Any]) -> Any:
    load(replica, entries)
    return replica


def test_every_kind_a_ward_writes_is_there_in_the_order_written(entries: list[Any]) -> None:
    kinds = collections.Counter(e.kind for e in entries)
    assert set(kinds) == set(Kind)  # all eleven kinds
    assert kinds[Kind.VITALS] > kinds[Kind.NOTE] > kinds[Kind.DISCHARGE] > 0
    assert all(a.recorded_at <= b.recorded_at for a, b in itertools.pairwise(entries))
    assert all(END - timedelta(weeks=2) <= e.performed_at <= e.recorded_at <= END for e in entries)
    captures = collections.Counter(e.capture.value for e in entries)
    assert 0 < captures["transcribed"] < captures["bedside"]
    assert all(e.transcribed_by for e in entries if e.capture.value == "transcribed")
    statuses = collections.Counter(
        e.payload["status"] for e in entries if e.kind is Kind.ADMINISTRATION
    )
    assert statuses["given"] > 10 * (statuses["held"] + statuses["refused"]) > 0
    ids = {e.id for e in entries}
    assert len(ids) == len(entries)
    assert all(e.corrects in ids for e in entries if e.corrects)  # corrections name a real entry
    assert len({e.patient_id for e in entries}) > 20  # earlier patients of the beds too


def test_the_same_seed_gives_the_same_entries(replica: Any, entries: list[Any]) -> None:
    again = list(simulate(replica, weeks=2, beds=None, seed=3, end=END))
    assert again == entries
    other = list(simulate(replica, weeks=2, beds=None, seed=4, end=END))
    assert [e.id for e in other[:50]] != [e.id for e in entries[:50]]


def test_every_entry_passes_the_checks_a_form_entry_passes(entries: list[Any]) -> None:
    for e in entries:
        again = make_entry(
            e.kind,
            patient_id=e.patient_id,
            encounter_id=e.encounter_id,
            author=e.author,
            author_name=e.author_name,
            role=e.role,
            node=e.node,
            now=e.recorded_at,
            performed_at=e.performed_at,
            payload=e.payload,
            capture=e.capture,
            transcribed_by=e.transcribed_by,
            corrects=e.corrects,
            drill=e.drill,
            entry_id=e.id,
        )
        assert again == e


def test_a_sample_of_each_kind_is_valid_fhir_r4(entries: list[Any]) -> None:
    by_kind: dict[Kind, list[Any]] = collections.defaultdict(list)
    for e in entries:
        by_kind[e.kind].append(e)
    rng = random.Random(5)
    checked = 0
    for group in by_kind.values():
        for e in rng.sample(group, min(25, len(group))):
            for resource in to_fhir(e):
                validate(resource)
                checked += 1
    assert checked > 200


def test_loaded_entries_read_back_whole(replica: Any, entries: list[Any], tmp_path: Path) -> None:
    from standby.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "journal.db")
    try:
        assert load(store, entries, batch=1000) == len(entries)
        back = [e for _, e in repository.since(store, limit=len(entries) + 1)]
    finally:
        store.close()
    assert back == entries


def test_the_mar_shows_the_simulated_doses_as_given(loaded: Any, entries: list[Any]) -> None:
    """The replica was charted until NOW; the doses the journal holds after it are what
    the MAR can show as given. Every one the MAR lists is given, by the journal's entry;
    every held one is "not given"."""
    from standby.clinical.summary import patient_summary

    store = loaded
    doses = [
        e
        for e in entries
        if e.kind is Kind.ADMINISTRATION
        and e.encounter_id  # the replica's current inpatients
        and e.performed_at > NOW
        and not e.payload["request_id"].startswith("journal-")
        and "scheduled_for" in e.payload
    ]
    assert doses
    struck = {e.corrects for e in entries if e.kind is Kind.STRIKE}
    patients = collections.Counter(e.patient_id for e in doses)
    seen_given = seen_held = 0
    for pid, _ in patients.most_common(4):
        summary = patient_summary(store, pid, END, charted_until=NOW)
        assert summary is not None
        by_admin = {
            dose.administration.id: dose
            for line in summary.mar.scheduled
            for dose in line.doses
            if dose.administration is not None
        }
        for e in doses:
            if e.patient_id != pid or e.id in struck:
                continue
            dose = by_admin.get(f"journal-{e.id}")
            if dose is None:
                continue  # outside the MAR's window (12 h back)
            if e.payload["status"] == "given":
                assert dose.state == "given", (e.payload, dose)
                seen_given += 1
            else:
                assert dose.state == "not-given", (e.payload, dose)
                seen_held += 1
    assert seen_given > 10


def _busiest(entries: list[Any], n: int) -> list[str]:
    counts = collections.Counter(e.patient_id for e in entries)
    return [pid for pid, _ in counts.most_common(n)]


@pytest.mark.parametrize("at", [END, END - timedelta(days=3, hours=5)])
def test_a_summary_reads_only_its_window_and_shows_what_reading_everything_shows(
    loaded: Any, entries: list[Any], at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`journal.summary_entries` reads a window and each slot's newest; the summary and
    the census row built from that are those built from every entry of the patient."""
    from standby.clinical import summary as clinical_summary
    from standby.fhir.census import census_patient
    from standby.journal.summary_entries import for_summary

    patients = _busiest(entries, 12)
    patients += [e.patient_id for e in entries if e.kind is Kind.STRIKE][:6]
    patients += [e.patient_id for e in entries if e.corrects and e.kind is Kind.VITALS][:6]

    def build(pid: str, extent: Any) -> Any:
        return clinical_summary.build_summary(
            loaded, pid, at, extent=extent, patient_required=False
        )

    windowed = {(pid, x): build(pid, x) for pid in patients for x in clinical_summary.Extent}
    full = clinical_summary.journal_entries
    monkeypatch.setattr(
        clinical_summary,
        "journal_entries",
        lambda store, pid, now, hours, census_row=False: full(store, pid),
    )
    read_fewer = 0
    for (pid, extent), got in windowed.items():
        everything = build(pid, extent)
        assert got is not None and everything is not None
        if extent is clinical_summary.Extent.WHOLE:
            assert got.summary == everything.summary, pid
            shown = for_summary(loaded, pid, at)
            read_fewer += len(shown) < len(repository.for_patient(loaded, pid))
        else:
            assert census_patient(got.summary) == census_patient(everything.summary), pid
    assert read_fewer >= 10  # the window is narrower than the history for most of them
