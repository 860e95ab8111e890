"""What every part of the generator shares: one seeded random source, the clock, ids,
and the writer. Times are integer seconds since the epoch (UTC) until they are written
as FHIR instants (https://hl7.org/fhir/R4/datatypes.html#instant), which keeps the
generator fast and exactly reproducible.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
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

    def __init__(self, seed: int, now: datetime, writer: NdjsonWriter) -> None:
        self.rng = random.Random(seed)
        self.now = int(now.timestamp())
        self.today = self.now - self.now % DAY
        self.writer = writer
        self._ids: dict[str, int] = {}

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
