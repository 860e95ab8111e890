"""The gate every resource passes before it is stored: raw bytes in, the parsed resource or
the reason it cannot be stored out (pure: no I/O).

One decision for every way a resource arrives (an NDJSON line of a seed or an ingest, an
entry of a search Bundle, a body written through the store): the bytes are at most
`max_bytes` long, valid UTF-8 JSON, an object whose `resourceType` is a type of FHIR R4
(https://hl7.org/fhir/R4/resourcelist.html), the type the caller expected if it expected
one, with a valid `id` (https://hl7.org/fhir/R4/datatypes.html#id: 1 to 64 of
`A-Z a-z 0-9 - .`) and, when present, a `meta` that is an object
(https://hl7.org/fhir/R4/resource.html#Meta).

JSON that orjson refuses but that is valid JSON and valid FHIR (a decimal beyond double
range, a lone surrogate escape) is read again by `standby.fhir.tolerant_json`: the bytes
are kept as sent. A refusal names the type and id the text shows when it could not be
read (`peek_type_and_id`), so an oversize or broken resource can be found at the source.

What passes is a `ReceivedResource`: the verbatim bytes (what the store keeps: decimals
keep their precision, which `json` cannot promise since orjson reads them as floats) and
the parsed object (what the store indexes), so that nothing downstream parses it again.
What fails is a `Refusal` whose reason names what was wrong in words an operator
understands, with the type and id when they could be read (for the quarantine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from standby.fhir import tolerant_json
from standby.fhir.resource_types import RESOURCE_TYPES

JSON = dict[str, Any]

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_UNPARSED: Any = object()
_PEEK_TYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]{1,64})"')
_PEEK_ID = re.compile(rb'"id"\s*:\s*"([A-Za-z0-9\-.]{1,64})"')


@dataclass(slots=True)
class ReceivedResource:
    """A resource that passed the gate: its exact text and that text parsed. Read-only by
    convention (not `frozen`: a frozen dataclass costs four times as much to make, and one
    is made for every resource that arrives)."""

    raw: bytes  # the verbatim JSON text, as the source sent it
    json: JSON  # `raw` parsed (numbers as floats: read it, never write it back)
    resource_type: str
    id: str
    version_id: str | None  # meta.versionId when it is a string
    last_updated: str | None  # meta.lastUpdated when it is a string

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why some bytes cannot be stored, with what could be read of them."""

    reason: str
    resource_type: str | None = None
    id: str | None = None


def admit(
    raw: bytes,
    *,
    max_bytes: int,
    expected_type: str | None = None,
    parsed: Any = _UNPARSED,
    size: int | None = None,
    to_create: bool = False,
) -> ReceivedResource | Refusal:
    """Decide whether `raw` is a storable FHIR R4 resource.

    `expected_type`: the type the bytes must be (an NDJSON file of one type).
    `parsed`: `raw` already parsed, when the caller parsed a larger document that holds it
    (a search Bundle: https://hl7.org/fhir/R4/bundle.html); it is then not parsed again.
    `size`: the true length when `raw` is only the first bytes of an over-long line.
    `to_create`: a body sent to be created (https://hl7.org/fhir/R4/http.html#create),
    whose id the server assigns: its id is not checked, and the result's `id` is "".
    """
    length = len(raw) if size is None else size
    if length > max_bytes:
        return Refusal(
            f"resource of {length} bytes is larger than the limit of {max_bytes} bytes",
            *peek_type_and_id(raw),
        )
    res = parsed
    if res is _UNPARSED:
        try:
            res = tolerant_json.loads(raw)
        except ValueError as exc:
            return Refusal(str(exc), *peek_type_and_id(raw))
    if not isinstance(res, dict):
        return Refusal("not a JSON object")
    rtype = res.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return Refusal("no resourceType", None, _id_of(res))
    if rtype not in RESOURCE_TYPES:
        return Refusal(f"unknown resourceType {rtype!r}", rtype, _id_of(res))
    if expected_type is not None and rtype != expected_type:
        return Refusal(f"resourceType {rtype} in a file of {expected_type}", rtype, _id_of(res))
    rid = "" if to_create else res.get("id")
    if not isinstance(rid, str) or not (rid or to_create):
        return Refusal("no valid id", rtype)
    if not to_create and not _ID.fullmatch(rid):
        return Refusal(
            f"id {rid[:80]!r} is not a valid FHIR id (1 to 64 of A-Z a-z 0-9 - .)", rtype, rid
        )
    meta = res.get("meta")
    if meta is None:
        return ReceivedResource(raw, res, rtype, rid, None, None)
    if not isinstance(meta, dict):
        return Refusal("meta is not an object", rtype, rid)
    vid = meta.get("versionId")
    lu = meta.get("lastUpdated")
    return ReceivedResource(
        raw,
        res,
        rtype,
        rid,
        vid if isinstance(vid, str) else None,
        lu if isinstance(lu, str) else None,
    )


def _id_of(res: JSON) -> str | None:
    rid = res.get("id")
    return rid if isinstance(rid, str) and rid else None


def peek_type_and_id(raw: bytes) -> tuple[str | None, str | None]:
    """The resourceType and id that the text of a resource that cannot be read shows
    before its first nested object (for the quarantine; never trusted for anything else)."""
    head = raw[:65536]
    nested = head.find(b"{", 1)
    top = head[:nested] if nested > 0 else head
    t = _PEEK_TYPE.search(top) or _PEEK_TYPE.search(head)
    i = _PEEK_ID.search(top)
    return (t.group(1).decode() if t else None, i.group(1).decode() if i else None)
