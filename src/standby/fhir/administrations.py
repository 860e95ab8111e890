"""One administration, two sources: the same dose given is held once (docs/hl7.md, "Which
source wins").

An administration carries no identifier that the EHR's FHIR API and its HL7 v2 feed share
(RXA has none before v2.6, and the simulated EHR's MedicationAdministrations have none).
What both say of it is the order it was given against (`request`, ORC-2: the feed writer
has already made the order's reference the EHR's MedicationRequest when the replica holds
it) and when it was given (`effective[x]`, RXA-3): that pair, with the patient, is its
real-world key, as interface analysts match them. The MAR counts a dose held twice as two
doses given ("Doses in 24 h: 3" for two), so the key decides which one is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from standby.fhir.data_source import JSON, from_feed

Key = tuple[str, str, str]  # patient reference, order reference, when (UTC, to the second)


def _instant(text: object) -> str | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def key(res: JSON) -> Key | None:
    """The real-world key of a MedicationAdministration; None when it lacks a part."""
    if res.get("resourceType") != "MedicationAdministration":
        return None
    patient = str((res.get("subject") or {}).get("reference") or "")
    order = str((res.get("request") or {}).get("reference") or "")
    when = _instant(res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start"))
    if not patient or not order.startswith("MedicationRequest/") or when is None:
        return None
    return patient, order, when


Held = Iterable[tuple[str, JSON]]  # (id, resource) of what the replica holds


def by_key(held: Held) -> dict[Key, list[tuple[str, JSON]]]:
    out: dict[Key, list[tuple[str, JSON]]] = {}
    for rid, res in held:
        got = key(res)
        if got is not None:
            out.setdefault(got, []).append((rid, res))
    return out


def orders_of(resources: Iterable[JSON]) -> set[str]:
    return {k[1] for k in (key(r) for r in resources) if k is not None}


def from_the_ehr(incoming: Iterable[JSON]) -> list[JSON]:
    """The administrations among what FHIR sync brings that have a key."""
    return [r for r in incoming if key(r) is not None and not from_feed(r)]


def feed_copies_of(ehr: list[JSON], held: Held) -> list[str]:
    """Ids of the feed's administrations (among `held`, those held against the orders of
    `ehr`) that are the same doses as the EHR's `ehr` brought by FHIR sync: to supersede
    in the sync's transaction."""
    keyed = by_key(held)
    return [
        rid
        for res in ehr
        for rid, copy in keyed.get(key(res) or ("", "", ""), [])
        if rid != res.get("id") and from_feed(copy)
    ]


def already_from_the_ehr(mine: list[JSON], held: Held) -> set[str]:
    """Ids of the feed's administrations `mine` that the replica already holds from the
    EHR (among `held`, those held against their orders: FHIR sync's copy came first, and
    FHIR wins): not to be written."""
    keyed = by_key(held)
    return {
        str(r["id"])
        for r in mine
        if any(
            rid != r["id"] and not from_feed(copy)
            for rid, copy in keyed.get(key(r) or ("", "", ""), [])
        )
    }
