"""The rebooking problem of a replica: postponed surgeries and visits, the rooms and
people they need, what is already booked (docs/schedule.md#rebooking).

* Horizon: from the hospital's midnight of `now`'s day, `days` days, in the zone `tz`.
* Rooms: the operating rooms (for surgeries, any OR) and, for a visit, its clinician's
  room in its own clinic (a clinic sees several patients at once, one per clinician). A room
  is open, each day, from the first to the last Slot of its Schedule that day (free or
  busy: FHIR Schedule/Slot); on a day its Schedule says nothing of, during the default
  hours (`OR_HOURS` weekdays, `CLINIC_HOURS` weekdays). Operating rooms may run over by
  `overtime_minutes`; clinics not.
* People: a Practitioner with a Schedule of its own (`actor` the Practitioner, and a
  Location when the block is in one room) works only in its Slots; one without works
  whenever a room is open.
* Fixed: every surgery and visit in the horizon that is not being rebooked, in its room
  and with its surgeon or clinician.
* Cases: the postponed ones (not the cancelled); released at their booked time or at
  `not_before` (default: the hospital's midnight after the triage window, whose cases are
  the ones postponed), whichever is later — a postponed case moves later, never earlier;
  weighted and given a deadline by priority (`WEIGHTS`, `DEADLINE_HOURS`); not on the
  days the patient said they cannot come (the calls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from standby.fhir import display as d
from standby.schedule.items import Item, items_in_window
from standby.schedule.rebook import (
    Booking,
    Case,
    Placement,
    Problem,
    ProviderWindow,
    Window,
)
from standby.schedule.repository import Call
from standby.schedule.triage import Triaged
from standby.store.base import Store

WEIGHTS = {"emergent": 50, "urgent": 10, "elective": 1, "unknown": 1}
DEADLINE_HOURS = {"emergent": 24, "urgent": 72}
OR_HOURS = (time(7, 30), time(17, 30))
CLINIC_HOURS = (time(8, 0), time(17, 0))


@dataclass(frozen=True)
class ReplicaProblem:
    problem: Problem
    start: datetime  # minute 0 of the problem
    items: Mapping[str, Item]  # the cases' surgeries and visits, by appointment id
    rooms: Mapping[str, str]  # room id → name
    people: Mapping[str, str]  # practitioner id → name

    def at(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)


def room_key(i: Item) -> str:
    """An operating room's id; for a visit, its clinic and clinician ("clinic#dr")."""
    return i.place_id if i.kind == "surgery" else f"{i.place_id}#{i.provider.id}"


def _minute(start: datetime, t: datetime) -> int:
    return int((t - start).total_seconds() // 60)


def _slots_by_actor(
    store: Store, lo: datetime, hi: datetime
) -> dict[str, list[tuple[str, datetime, datetime]]]:
    """actor key ("Location/x", "Practitioner/y") → [(room id or "", start, end)] of the
    Slots of its Schedules in [lo, hi)."""
    schedules: dict[str, tuple[list[str], str]] = {}
    for sr in store.iter_type("Schedule"):
        s = sr.json()
        if s.get("active") is False:
            continue
        keys = [d.reference_key(a) or "" for a in s.get("actor") or []]
        room = next((k.partition("/")[2] for k in keys if k.startswith("Location/")), "")
        schedules[sr.id] = (keys, room)
    out: dict[str, list[tuple[str, datetime, datetime]]] = {}
    for sr in store.iter_type("Slot"):
        s = sr.json()
        sid = d.reference_id(s.get("schedule"), "Schedule") or ""
        if sid not in schedules or s.get("status") == "entered-in-error":
            continue
        a, b = d.parse_instant(s.get("start")), d.parse_instant(s.get("end"))
        if a is None or b is None or b <= lo or a >= hi:
            continue
        keys, room = schedules[sid]
        practitioner = any(k.startswith("Practitioner/") for k in keys)
        for k in keys:
            if practitioner and k.startswith("Location/"):
                continue  # a surgeon's block in a room: the room's Schedule says when it opens
            out.setdefault(k, []).append((room, a, b))
    return out


def build(
    store: Store,
    rows: Sequence[Triaged],
    calls: Mapping[str, Sequence[Call]],
    now: datetime,
    tz: tzinfo,
    *,
    days: int = 14,
    step: int = 5,
    overtime_minutes: int = 60,
    not_before: datetime | None = None,
    window_hours: int = 72,
) -> ReplicaProblem:
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz)
    end = start + timedelta(days=days)
    moving = {r.item.id: r for r in rows if r.decision == "postpone"}
    everything = items_in_window(store, start, end)
    rooms: dict[str, str] = {}
    kind_of: dict[str, str] = {}
    clinic_of: dict[str, str] = {}
    for i in [*everything, *(r.item for r in moving.values())]:
        if i.place_id:
            key = room_key(i)
            rooms[key] = i.place if i.kind == "surgery" else f"{i.place} — {i.provider.name}"
            kind_of[key] = i.kind
            clinic_of[key] = i.place_id
    slots = _slots_by_actor(store, start, end)
    windows = []
    for room, kind in sorted(kind_of.items()):
        hours = OR_HOURS if kind == "surgery" else CLINIC_HOURS
        over = overtime_minutes if kind == "surgery" else 0
        by_day: dict[date, tuple[datetime, datetime]] = {}
        for _, a, b in slots.get(f"Location/{clinic_of[room]}", []):
            day = a.astimezone(tz).date()
            lo, hi = by_day.get(day, (a, b))
            by_day[day] = (min(lo, a), max(hi, b))
        for k in range(days):
            day = (start + timedelta(days=k)).date()
            if day in by_day:
                a, b = by_day[day]
            elif day.weekday() < 5:
                a = datetime.combine(day, hours[0], tzinfo=tz)
                b = datetime.combine(day, hours[1], tzinfo=tz)
            else:
                continue
            windows.append(
                Window(room, _minute(start, a), _minute(start, b), _minute(start, b) + over)
            )
    bookings = [
        Booking(i.id, room_key(i), i.provider.id, _minute(start, i.start), _minute(start, i.end))
        for i in everything
        if i.id not in moving and i.place_id
    ]
    people: dict[str, str] = {}
    provider_windows: dict[str, tuple[ProviderWindow, ...]] = {}
    for i in everything:
        people[i.provider.id] = i.provider.name
    for pid in people:
        own = slots.get(f"Practitioner/{pid}")
        if own:
            provider_windows[pid] = tuple(
                ProviderWindow(_minute(start, a), _minute(start, b), room) for room, a, b in own
            )
    ors = tuple(sorted(r for r, k in kind_of.items() if k == "surgery"))
    if not_before is None:
        after = (now + timedelta(hours=window_hours)).astimezone(tz).date() + timedelta(days=1)
        not_before = datetime.combine(after, time(0), tzinfo=tz)
    earliest = _minute(start, not_before)
    cases = []
    for r in moving.values():
        i = r.item
        people[i.provider.id] = i.provider.name
        limit = DEADLINE_HOURS.get(r.priority)
        deadline = _minute(start, i.start) + limit * 60 if limit else None
        gone = {
            (day - start.date()).days
            for c in calls.get(i.id, ())
            for day in c.unavailable_days
            if 0 <= (day - start.date()).days < days
        }
        release = max(0, earliest, _minute(start, i.start))
        cases.append(
            Case(
                i.id,
                i.provider.id,
                i.minutes,
                WEIGHTS.get(r.priority, 1),
                -(-release // step) * step,
                deadline,
                ors if i.kind == "surgery" else (room_key(i),),
                frozenset(gone),
            )
        )
    problem = Problem(days, tuple(windows), tuple(cases), tuple(bookings), provider_windows, step)
    return ReplicaProblem(
        problem, start, {r.item.id: r.item for r in moving.values()}, rooms, people
    )


def calendar(
    rp: ReplicaProblem, placements: Iterable[Placement]
) -> dict[str, list[tuple[Placement, Item]]]:
    """The proposal per room (by name), each room's cases by start."""
    out: dict[str, list[tuple[Placement, Item]]] = {}
    for pl in sorted(placements, key=lambda p: (rp.rooms.get(p.room, p.room), p.start)):
        out.setdefault(rp.rooms.get(pl.room, pl.room), []).append((pl, rp.items[pl.case]))
    return out
