"""What the summary page lists of a patient's journal (`journal.listed_recent`): the same
entries, in the same order, and the same count of earlier ones as filtering what stands
of every entry on the patient — with corrections, strikes, drills and other patients'
entries mixed in — on each engine."""

from __future__ import annotations

import random
from datetime import timedelta

from standby.journal import repository
from standby.journal.entries import Entry, Kind
from standby.journal.listed_recent import is_recent, listed_since
from standby.journal.overlay import LISTED
from standby.store.base import Store
from support.journal_entries import NOW, PAYLOADS, entry

KINDS = [k for k in Kind if k is not Kind.STRIKE]


def _history(rng: random.Random) -> list[Entry]:
    out: list[Entry] = []
    for _ in range(40):
        recorded = NOW - timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        when = {"now": recorded, "minutes_ago": rng.randrange(0, 3 * 24 * 60)}
        pid = rng.choice(("p1", "p1", "p1", "p2"))
        drill = rng.random() < 0.15
        mine = [e for e in out if e.patient_id == pid and e.drill == drill]
        roll = rng.random()
        if mine and roll < 0.2:
            target = rng.choice([e for e in mine if e.kind is not Kind.STRIKE] or mine)
            kind = target.kind if target.kind is not Kind.STRIKE else Kind.NOTE
            out.append(
                entry(
                    kind,
                    patient_id=pid,
                    drill=drill,
                    corrects=target.id,
                    payload=PAYLOADS[kind],
                    **when,
                )
            )
        elif mine and roll < 0.3:
            target = rng.choice(mine)
            out.append(entry(Kind.STRIKE, patient_id=pid, drill=drill, corrects=target.id, **when))
        else:
            out.append(entry(rng.choice(KINDS), patient_id=pid, drill=drill, **when))
    return out


def _naive(store: Store, since_hours: int, drill: bool) -> tuple[list[Entry], int]:
    since = NOW - timedelta(hours=since_hours)
    standing = [
        e
        for e in repository.in_effect(repository.for_patient(store, "p1", drill=drill))
        if e.kind in LISTED
    ]
    listed = [e for e in reversed(standing) if is_recent(e, since)]
    return listed, len(standing) - len(listed)


def test_the_recent_entries_and_the_count_of_earlier_ones_are_those_of_every_entry(
    store: Store,
) -> None:
    rng = random.Random(15)
    for _ in range(6):
        history = _history(rng)
        repository.append(store, history)
        for hours in (0, 6, 48, 24 * 5, 24 * 30):
            for drill in (False, True):
                want = _naive(store, hours, drill)
                got = listed_since(store, "p1", NOW - timedelta(hours=hours), drill=drill)
                assert [e.id for e in got[0]] == [e.id for e in want[0]]
                assert got == want
