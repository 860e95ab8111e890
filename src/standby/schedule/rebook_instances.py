"""Random rebooking problems (seeded): the tests' instances and the benchmark's
(`standby bench reschedule`). Rooms open on weekdays 07:30–17:30, running over until
18:30 at most; each weekday every room is one surgeon's block; part of each block is
already booked (fixed); the postponed cases are spread over the surgeons."""

from __future__ import annotations

import random

from standby.schedule.rebook import DAY, Booking, Case, Problem, ProviderWindow, Window

WEIGHTS = {"emergent": 50, "urgent": 10, "elective": 1}
LENGTHS = (30, 45, 60, 60, 90, 90, 120, 180)


def random_problem(
    seed: int,
    *,
    cases: int = 40,
    providers: int = 4,
    rooms: int = 4,
    days: int = 7,
    booked: float = 0.3,
    step: int = 5,
    unavailable: float = 0.2,
    start_weekday: int = 0,
) -> Problem:
    rng = random.Random(seed)
    room_ids = [f"or{r + 1}" for r in range(rooms)]
    prov_ids = [f"dr{p + 1}" for p in range(providers)]
    windows: list[Window] = []
    bookings: list[Booking] = []
    blocks: dict[str, list[ProviderWindow]] = {p: [] for p in prov_ids}
    open_days = [d for d in range(days) if (start_weekday + d) % 7 < 5]
    for d in open_days:
        base = d * DAY
        start, end, hard = base + 450, base + 1050, base + 1110
        owners = prov_ids[:]
        rng.shuffle(owners)
        for r, room in enumerate(room_ids):
            windows.append(Window(room, start, end, hard))
            if r >= len(owners):
                continue
            prov = owners[r]
            blocks[prov].append(ProviderWindow(start, hard, room))
            t = start
            while t < end and rng.random() < booked * 1.6:  # the block's booked cases
                length = rng.choice(LENGTHS)
                if rng.random() < 0.5 and t + length <= end:
                    bookings.append(Booking(f"b{len(bookings)}", room, prov, t, t + length))
                t += length + rng.choice((0, 0, 15, 30))
    out = []
    for i in range(cases):
        word = rng.choices(list(WEIGHTS), (5, 20, 75))[0]
        release = rng.randrange(0, 2 * DAY, step)
        deadline = {
            "emergent": release + DAY,
            "urgent": release + 3 * DAY,
            "elective": None,
        }[word]
        gone: set[int] = set()
        if rng.random() < unavailable:
            gone = {rng.randrange(days) for _ in range(rng.randint(1, 3))}
        out.append(
            Case(
                f"c{i}",
                rng.choice(prov_ids),
                rng.choice(LENGTHS),
                WEIGHTS[word],
                release,
                deadline,
                (),
                frozenset(gone),
            )
        )
    return Problem(
        days,
        tuple(windows),
        tuple(out),
        tuple(bookings),
        {p: tuple(b) for p, b in blocks.items()},
        step,
    )
