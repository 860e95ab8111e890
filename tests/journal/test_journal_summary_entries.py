"""What a summary reads of a patient's journal (`journal.summary_entries.for_summary`) on
every engine: from a window and each slot's newest, the same resources as from every
entry — old weights, old doses given, old notes, corrections that move an entry into the
window and strikes included."""

from __future__ import annotations

from typing import Any

from standby.journal import overlay, repository
from standby.journal.entries import Kind
from standby.journal.summary_entries import for_summary
from support.journal_entries import NOW, entry

DAY = 24 * 60


def _history() -> list[Any]:
    out = [
        entry(Kind.VITALS, minutes_ago=9 * DAY, payload={"weight_kg": 80.5}),
        entry(Kind.VITALS, minutes_ago=8 * DAY, payload={"weight_kg": 79.0}),
        entry(Kind.VITALS, minutes_ago=5 * DAY, payload={"heart_rate": 88, "spo2": 95}),
        entry(Kind.VITALS, minutes_ago=60, payload={"heart_rate": 92}),
        entry(Kind.ALLERGY, minutes_ago=20 * DAY),
        entry(Kind.ORDER, minutes_ago=15 * DAY),
    ]
    for days, status in ((9, "given"), (7, "given"), (6, "held"), (0.5, "given")):
        extra = {"dose": "25 mg", "route": "oral"} if status == "given" else {"reason": "NPO"}
        payload = {"request_id": "mr-weekly", "medication": "X", "status": status, **extra}
        out.append(entry(Kind.ADMINISTRATION, minutes_ago=int(days * DAY), payload=payload))
    for d in range(2, 10):
        payload = {"note_type": "nursing", "title": f"day {d}", "text": "Stable."}
        out.append(entry(Kind.NOTE, minutes_ago=d * DAY, payload=payload))
    # a correction moves an old reading into the window; the newest weight is struck
    old = out[2]
    out.append(
        entry(
            Kind.VITALS,
            minutes_ago=30,
            payload={"heart_rate": 84, "spo2": 96},
            corrects=old.id,
        )
    )
    out.append(entry(Kind.STRIKE, minutes_ago=1, corrects=out[1].id))
    return out


def test_the_window_and_each_slots_newest_give_the_summary_every_entry_gives(store: Any) -> None:
    repository.append(store, _history())
    everything = repository.for_patient(store, "p1")
    for census_row in (False, True):
        read = for_summary(store, "p1", NOW, census_row=census_row)
        assert len(read) < len(everything)
    whole = overlay.as_resources(for_summary(store, "p1", NOW), now=NOW)
    assert whole == overlay.as_resources(everything, now=NOW)
    weights = [
        r["valueQuantity"]["value"]
        for r in whole
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "29463-7"
    ]
    assert weights == [80.5]  # the newer one was struck
    given = [r for r in whole if r["resourceType"] == "MedicationAdministration"]
    assert len(given) == 2  # the last day's, and the newest given before the window
    notes = [r for r in whole if r["resourceType"] == "DocumentReference"]
    assert len(notes) == 5  # the newest five: as many as a summary shows


def test_a_census_row_reads_the_last_days_doses_and_the_newest_weight(store: Any) -> None:
    repository.append(store, _history())
    kinds = [e.kind for e in overlay.in_effect(for_summary(store, "p1", NOW, census_row=True))]
    assert {k.value for k in kinds} == {"administration", "allergy", "order", "vitals"}
    assert kinds.count(Kind.ADMINISTRATION) == 1  # the last day's dose only


def test_an_old_weight_behind_many_readings_is_still_the_latest(store: Any) -> None:
    """Readings are read newest first a page at a time; a measurement not in the page
    (a weight taken once, 50 readings ago) is found by reading on."""
    history = [entry(Kind.VITALS, minutes_ago=20 * DAY, payload={"weight_kg": 70.2})]
    history += [
        entry(Kind.VITALS, minutes_ago=19 * DAY - d * 500, payload={"heart_rate": 70 + d})
        for d in range(50)
    ]
    repository.append(store, history)
    for census_row in (False, True):
        read = for_summary(store, "p1", NOW, census_row=census_row)
        assert history[0] in read
    whole = overlay.as_resources(for_summary(store, "p1", NOW), now=NOW)
    assert whole == overlay.as_resources(repository.for_patient(store, "p1"), now=NOW)
