"""Where a datum came from: FHIR sync (the EHR's own resource) or an HL7 v2 feed from the
interface engine, and whether it arrived while the EHR was down (pure).

A resource the feed wrote carries the tag `data-source|hl7v2` whose display names the
sender ("HL7 v2 feed from LAB^SGH", docs/hl7.md). When FHIR sync later brings the EHR's own
version, that version replaces it and the tag is gone: so a tagged resource is one the EHR
has not (yet) shown Standby. During a downtime, a tagged resource whose `meta.lastUpdated`
(the message's time) is at or after the charting cutoff (`standby.fhir.mar.charting_cutoff`:
the earlier of the declaration and "data as of") was received during the downtime and is
marked "received during downtime from <sender> — not seen in the EHR".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
