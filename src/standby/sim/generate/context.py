"""What every part of the generator shares: one seeded random source, the clock, ids,
and the writer. Times are integer seconds since the epoch (UTC) until they are written
as FHIR instants (https://hl7.org/fhir/R4/datatypes.html#instant), which keeps the
generator fast and exactly reproducible. Clock times of the hospital's day (a 09:00 dose,
the 07:30 first case, the 05:00 labs) are wall-clock times in the hospital's zone:
`Ctx.midnight` and `Ctx.at` turn them into instants, so a 09:00 dose in New York is
14:00Z in winter and 13:00Z in summer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from standby.sim.generate.writer import NdjsonWriter

JSON = dict[str, Any]
HOUR = 3600
DAY = 86400

_DAY_PREFIX: dict[int, str] = {}


def instant(t: int) -> str:
    """Epoch seconds → FHIR instant with a `Z` offset, e.g. 2026-11-28T10:15:00Z."""
    day, sec = divmod(t, DAY)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
        _DAY_PREFIX[day] = prefix
    h, rem = divmod(sec, HOUR)
    m, s = divmod(rem, 60)
    return f"{prefix}{h:02d}:{m:02d}:{s:02d}Z"


def date_of(t: int) -> str:
    return instant(t)[:10]


def age_at(birth: int, t: int) -> int:
    """Age in whole calendar years at `t` of someone born at `birth` (epoch seconds)."""
    b = datetime.fromtimestamp(birth, UTC).date()
    d = datetime.fromtimestamp(t, UTC).date()
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def ref(resource_type: str, id: str, display: str | None = None) -> JSON:
    if display is None:
        return {"reference": f"{resource_type}/{id}"}
    return {"reference": f"{resource_type}/{id}", "display": display}


class Ctx:
    """The generation context: `rng` is the only source of randomness."""

    def __init__(self, seed: int, now: datetime, writer: NdjsonWriter, zone: tzinfo = UTC) -> None:
        self.rng = random.Random(seed)
        self.zone = zone
        self._utc = zone is UTC
        self._midnights: dict[int, int] = {}
        self.now = int(now.timestamp())
        self.writer = writer
        self._ids: dict[str, int] = {}
        self.today = self.midnight(self.now)

    def midnight(self, t: int) -> int:
        """The instant of 00:00 in the hospital's zone on the local day of instant `t`."""
        if self._utc:
            return t - t % DAY
        day = datetime.fromtimestamp(t, self.zone).date()
        return int(datetime.combine(day, time(0), self.zone).timestamp())

    def at(self, midnight: int, seconds: int, days: int = 0) -> int:
        """The instant of wall-clock time `seconds` after 00:00 (09:00 is 9 * HOUR) on the
        local day `days` after the one starting at `midnight`, in the hospital's zone.
        A time the clock skips (02:30 on the spring-forward night) falls where the clock
        would be had it not moved (03:30 daylight time); a time it repeats is the first."""
        if self._utc:
            return midnight + days * DAY + seconds
        key = midnight + days * DAY + 7 * HOUR  # surely inside the wanted local day
        start = self._midnights.get(key)
        if start is None:
            start = self.midnight(key) if days else midnight
            self._midnights[key] = start
        day = datetime.fromtimestamp(start, self.zone).date()
        h, rem = divmod(seconds, HOUR)
        wall = datetime.combine(day, time(h, rem // 60, rem % 60), self.zone)
        return int(wall.timestamp())

    def is_weekend(self, t: int) -> bool:
        """Saturday or Sunday in the hospital's zone at instant `t`."""
        if self._utc:
            return ((t // DAY) + 3) % 7 >= 5
        return datetime.fromtimestamp(t, self.zone).weekday() >= 5

    def id(self, prefix: str) -> str:
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        return f"{prefix}{n}"

    def meta(self, t: int) -> JSON:
        """`meta` of a first version recorded at `t` (never after `now`)."""
        t = min(t, self.now - 1)
        return {"versionId": "1", "lastUpdated": instant(t)}

    def emit(self, resource: JSON) -> None:
        self.writer.write(resource)
