"""Where a datum came from: FHIR sync (the EHR's own resource) or an HL7 v2 feed from the
interface engine, and whether it arrived while the EHR was down (pure).

A resource the feed wrote carries the tag `data-source|hl7v2` whose display names the
sender ("HL7 v2 feed from LAB^SGH", docs/hl7.md). When FHIR sync later brings the EHR's own
version, that version replaces it and the tag is gone: so a tagged resource is one the EHR
has not (yet) shown Standby. During a downtime, a tagged resource whose `meta.lastUpdated`
(the message's time) is at or after the charting cutoff (`standby.fhir.mar.charting_cutoff`:
the earlier of the declaration and "data as of") was received during the downtime and is
marked "received during downtime from <sender> — not seen in the EHR".

The ids the HL7 v2 feed gives real-world things
(pure) are what FHIR sync and the feed writer share to hold one thing once (docs/hl7.md,
"Which source wins").

The feed names what it writes by real-world key (an MRN, a visit number, an order
number): `feed_id` is that rule, the one `standby.hl7` mappings follow. A resource the
feed wrote carries the tag `FEED_TAG_SYSTEM|FEED_TAG_CODE` in `meta.tag`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from standby.fhir.search_params import date_range

FEED_TAG_SYSTEM = "https://standby.example.org/fhir/CodeSystem/data-source"
FEED_TAG_CODE = "hl7v2"
FEED_DISPLAY_PREFIX = "HL7 v2 feed from "
NOT_SEEN = "not seen in the EHR"


def feed_sender(resource: Mapping[str, Any]) -> str | None:
    """The sender (`APP^FACILITY`) of a resource that came by HL7 v2 feed, else None."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == FEED_TAG_SYSTEM and tag.get("code") == FEED_TAG_CODE:
            display = str(tag.get("display") or "")
            return display.removeprefix(FEED_DISPLAY_PREFIX) or "the interface engine"
    return None


def source_text(resource: Mapping[str, Any]) -> str:
    """For people: "HL7 v2 feed from LAB^SGH" or "EHR (FHIR sync)"."""
    sender = feed_sender(resource)
    return f"{FEED_DISPLAY_PREFIX}{sender}" if sender else "EHR (FHIR sync)"


def received_during_downtime(
    resource: Mapping[str, Any], charted_until: datetime | None
) -> str | None:
    """The sender of a feed resource received during the downtime (None outside one, for
    what FHIR sync brought, or for what arrived before the EHR went down)."""
    if charted_until is None:
        return None
    sender = feed_sender(resource)
    if sender is None:
        return None
    text = str((resource.get("meta") or {}).get("lastUpdated") or "")
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return sender  # no readable time: it is the feed's, and the EHR has not shown it
    if at.tzinfo is None:
        return sender
    return sender if at >= charted_until else None


def downtime_note(sender: str) -> str:
    return f"received during downtime from {sender} — {NOT_SEEN}"


JSON = dict[str, Any]

# The prefix of the feed's id of each type, and whether the key is "system|value" (one
# part) or system and value (two parts): as `standby.hl7` makes them.
_FEED_KEYS = {
    "Patient": ("v2pt", False),
    "Encounter": ("v2en", False),
    "DiagnosticReport": ("v2dr", True),
    "MedicationRequest": ("v2mr", True),
    "Appointment": ("v2ap", False),
    "DocumentReference": ("v2doc", False),
}


def stable_id(prefix: str, *key: str) -> str:
    """A FHIR id that is a function of a real-world key: the same thing arriving twice, or
    from two senders, is stored once."""
    h = hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:32]
    return f"{prefix}-{h}"


def feed_id(resource_type: str, system: str, value: str) -> str | None:
    """The id the feed gives a thing of this type with this identifier (None: a type the
    feed does not name by identifier)."""
    got = _FEED_KEYS.get(resource_type)
    if got is None:
        return None
    prefix, joined = got
    return stable_id(prefix, f"{system}|{value}") if joined else stable_id(prefix, system, value)


def from_feed(res: JSON) -> bool:
    """Whether a resource came by HL7 v2 feed (its `meta.tag`)."""
    meta = res.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return isinstance(tags, list) and any(
        isinstance(t, dict)
        and t.get("system") == FEED_TAG_SYSTEM
        and t.get("code") == FEED_TAG_CODE
        for t in tags
    )


def identifiers(res: JSON) -> Iterable[tuple[str, str]]:
    """(system, value) of each identifier of a resource (and its masterIdentifier)."""
    found = list(res.get("identifier") or [])
    if isinstance(res.get("masterIdentifier"), dict):
        found.append(res["masterIdentifier"])
    for ident in found:
        if isinstance(ident, dict):
            system, value = ident.get("system"), ident.get("value")
            if isinstance(system, str) and isinstance(value, str):
                yield system, value


def just_after(instant: str) -> str:
    """One millisecond after an instant, as an instant in UTC."""
    rng = date_range(instant)
    ms = rng[0] if rng else 0
    t = datetime.fromtimestamp(ms / 1000, UTC) + timedelta(milliseconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def rewritten(
    raw: bytes, version_id: str, last_updated: str, swaps: dict[str, str]
) -> bytes | None:
    """A new version of a held resource (its text, versionId and lastUpdated) in which each
    reference `Type/old` of `swaps` is `Type/new`; None when it names none of them.

    Its body and source are kept; its versionId is new and its `lastUpdated` one
    millisecond after the held version: moving a reference is not a new event, so any later
    message or EHR version still wins over it."""
    text = raw.decode()
    changed = text
    for old, new in swaps.items():
        changed = changed.replace(f'"{old}"', f'"{new}"')
    if changed == text:
        return None
    res = orjson.loads(changed)
    key = "\x1f".join([version_id, *(f"{k}>{v}" for k, v in sorted(swaps.items()))])
    meta = dict(res.get("meta") or {})
    meta["versionId"] = "r-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    meta["lastUpdated"] = just_after(last_updated)
    res["meta"] = meta
    return orjson.dumps(res)
