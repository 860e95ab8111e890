"""One message -> the FHIR R4 resources it means: the dispatch by message type and trigger
event, and the `meta` every feed resource carries (pure: no store, no clock).

`meta.versionId` names the message (a hash of the sender and its control id) and
`meta.lastUpdated` is when the sender says it happened (MSH-7): the store's version rules
(`standby.store.version_rules`) then keep the newest message's version and ignore an older
one that arrives late. `meta.source` and a `meta.tag` name the feed and the sender, so that
the viewer can say where a datum came from and FHIR sync can take precedence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote

from standby.fhir.data_source import FEED_DISPLAY_PREFIX, FEED_TAG_CODE, FEED_TAG_SYSTEM
from standby.hl7 import adt, pharmacy, results, scheduling
from standby.hl7 import datatypes as dt
from standby.hl7.mapped import JSON, Mapped, MappingError, unsupported
from standby.hl7.v2 import Message

__all__ = ["FEED_TAG_CODE", "FEED_TAG_SYSTEM", "MAPPINGS", "feed_meta", "map_message"]

Mapping = Callable[[Message, dt.Context], Mapped]

MAPPINGS: dict[tuple[str, str], Mapping] = {
    **{("ADT", e): adt.map_adt for e in adt.EVENTS},
    ("ORU", "R01"): results.map_oru,
    ("MDM", "T02"): results.map_mdm,
    ("RDE", "O11"): pharmacy.map_rde,
    ("RDE", "O01"): pharmacy.map_rde,  # v2.3 and v2.4 named the same order O01
    ("RAS", "O17"): pharmacy.map_ras,
    ("RAS", "O01"): pharmacy.map_ras,
    **{("SIU", e): scheduling.map_siu for e in scheduling.EVENTS},
}


def source_uri(msg: Message) -> str:
    """`meta.source` of what a sender's messages became."""
    return (
        f"urn:standby:hl7v2:{quote(msg.sending_application, safe='')}"
        f":{quote(msg.sending_facility, safe='')}"
    )


def feed_meta(msg: Message, ctx: dt.Context, received_at: str) -> JSON:
    """The `meta` of every resource one message makes. `received_at` (an instant) stands in
    for an MSH-7 that is missing or unreadable."""
    digest = hashlib.sha256(f"{msg.sender}\x1f{msg.control_id}".encode()).hexdigest()[:24]
    return {
        "versionId": f"v2-{digest}",
        "lastUpdated": dt.instant(msg.sent_at, ctx) or received_at,
        "source": source_uri(msg),
        "tag": [
            {
                "system": FEED_TAG_SYSTEM,
                "code": FEED_TAG_CODE,
                "display": f"{FEED_DISPLAY_PREFIX}{msg.sender}",
            }
        ],
    }


def map_message(msg: Message, ctx: dt.Context, *, received_at: str) -> Mapped:
    """The resources of one message, each with the feed's meta; MappingError (AE/AR with
    the reason) for what cannot be mapped."""
    fn = MAPPINGS.get((msg.message_type, msg.trigger))
    if fn is None:
        kind = f"{msg.message_type}^{msg.trigger}"
        if any(t == msg.message_type for t, _ in MAPPINGS):
            raise MappingError("AR", "201", f"{kind}: Standby does not take this trigger event")
        raise unsupported(f"{kind}: Standby does not take this message type")
    ctx = replace(ctx, message_tz=dt.message_zone(msg.sent_at))
    try:
        mapped = fn(msg, ctx)
    except MappingError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as e:  # a field not as the type says
        raise MappingError("AE", "102", f"{msg.message_type}^{msg.trigger}: {e}") from e
    meta = feed_meta(msg, ctx, received_at)
    for res in (*mapped.resources, *mapped.create_only):
        res["meta"] = {**meta, "tag": list(meta["tag"])}
    return mapped
