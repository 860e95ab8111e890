"""When a scheduled dose of an order falls, in the hospital's time zone, so the change feed
gives doses at the times they are due (as the generator does: `generate.medications`).

`timing.repeat.timeOfDay` times are the hospital's wall clock each day; every-N-hours
orders step N real hours from the order's first dose, `boundsPeriod.start` (else 00:00,
hospital time, of the day the order was written), as the MAR counts them
(https://hl7.org/fhir/R4/datatypes.html#Timing).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from standby.sim.changes.census import JSON


def _instant(value: object) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else None


def last_scheduled(order: JSON, now: datetime, zone: tzinfo) -> datetime | None:
    """The latest scheduled dose time of `order` (a MedicationRequest) at or before `now`,
    or None for an order with no schedule (PRN, a drip) or not yet started."""
    dosage = (order.get("dosageInstruction") or [{}])[0]
    if dosage.get("asNeededBoolean"):
        return None
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    authored = _instant(order.get("authoredOn"))
    if authored is None or authored > now:
        return None
    local_now = now.astimezone(zone)
    if repeat.get("timeOfDay"):
        best: datetime | None = None
        for back in (0, 1):
            day = local_now.date() - timedelta(days=back)
            for text in repeat["timeOfDay"]:
                wall = datetime.combine(day, time.fromisoformat(str(text)), zone)
                if authored <= wall <= now and (best is None or wall > best):
                    best = wall
            if best is not None:
                return best
        return None
    if repeat.get("periodUnit") == "h" and repeat.get("period"):
        every = timedelta(hours=float(repeat["period"]) / float(repeat.get("frequency") or 1))
        first = _instant((repeat.get("boundsPeriod") or {}).get("start"))
        if first is None:
            first = datetime.combine(authored.astimezone(zone).date(), time(0), zone)
        anchor = first.astimezone(UTC)  # step in real time, not on the wall clock
        if anchor > now:
            return None
        steps = (now - anchor) // every
        t = anchor + steps * every
        return t if t >= authored else None
    return None
