"""Turning FHIR R4 datatypes into the short text a clinician reads.

Pure functions over resource dicts (no I/O). They tolerate the variations real EHRs send:
a CodeableConcept with only `text`, only `coding[].display`, or only a code; a HumanName
with only `text`; a Quantity without a unit; instants with or without an offset.

Datatypes: https://hl7.org/fhir/R4/datatypes.html
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

JSON = Mapping[str, Any]

MRN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "https://standby.example.org/fhir/sid/mrn"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
# Entries of the memoised parsers below. Their keys are instants and references, and new
# ones arrive with every change the sync writes: a long-running process fills its caches
# over hours (65,536 entries were 13-21 MB each), so they are kept small enough that a
# full one costs ~2-3 MB while a census's few thousand instants still fit.
INSTANT_CACHE = 8192


def parse_instant(text: object) -> datetime | None:
    """A FHIR instant/dateTime/date as an aware datetime (UTC when no offset is given).

    A bare date (`2026-11-28`) becomes midnight UTC; a partial date (`2026-11`) the first
    of the month. None for anything unreadable.
    """
    if not isinstance(text, str) or not text:
        return None
    return _parse_instant(text)


@functools.lru_cache(maxsize=INSTANT_CACHE)
def _parse_instant(text: str) -> datetime | None:
    """`parse_instant` of a non-empty string, memoised (datetimes are immutable; a census
    parses the same few thousand instants on every request)."""
    s = text.strip()
    if len(s) == 4 and s.isdigit():
        s = s + "-01-01"
    elif len(s) == 7:
        s = s + "-01"
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_date(text: object) -> date | None:
    if not isinstance(text, str) or len(text) < 4:
        return None
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def codings(cc: object) -> list[JSON]:
    if not isinstance(cc, dict):
        return []
    out = cc.get("coding") or []
    return [c for c in out if isinstance(c, dict)]


def has_code(cc: object, system: str | None, code: str) -> bool:
    """True when the CodeableConcept carries `code` (in `system`, if given)."""
    return any(
        c.get("code") == code and (system is None or c.get("system") == system) for c in codings(cc)
    )


def codes_of(cc: object) -> set[str]:
    return {str(c.get("code")) for c in codings(cc) if c.get("code")}


def concept_text(cc: object, default: str = "") -> str:
    """`text`, else the first coding's `display`, else its `code` (never empty if anything
    is there)."""
    if isinstance(cc, list):
        return ", ".join(t for t in (concept_text(c) for c in cc) if t) or default
    if not isinstance(cc, dict):
        return default
    text = cc.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    for c in codings(cc):
        if c.get("display"):
            return str(c["display"])
    for c in codings(cc):
        if c.get("code"):
            return str(c["code"])
    return default


def first_code(cc: object, system: str | None = None) -> str | None:
    for c in codings(cc):
        if c.get("code") and (system is None or c.get("system") == system):
            return str(c["code"])
    return None


def type_code(resource: JSON) -> str:
    """First code of `type`, which is a list of CodeableConcepts on Location and a single
    CodeableConcept on some other resources."""
    t = resource.get("type")
    if isinstance(t, list):
        for cc in t:
            code = first_code(cc)
            if code:
                return code
        return ""
    return first_code(t) or ""


def human_name(names: object) -> tuple[str, str, str]:
    """(display "Family, Given Middle", family, given) from Patient/Practitioner.name.

    Prefers the `official` name, then `usual`, then the first.
    """
    if not isinstance(names, list) or not names:
        return ("(no name recorded)", "", "")
    by_use = {n.get("use"): n for n in names if isinstance(n, Mapping)}
    name = by_use.get("official") or by_use.get("usual") or names[0]
    if not isinstance(name, Mapping):
        return ("(no name recorded)", "", "")
    family = str(name.get("family") or "")
    given = " ".join(str(g) for g in name.get("given") or [])
    if family and given:
        return (f"{family}, {given}", family, given)
    if family or given:
        return (family or given, family, given)
    text = str(name.get("text") or "(no name recorded)")
    return (text, "", text)


def practitioner_name(resource: JSON | None, default: str = "") -> str:
    """ "Dr Given Family"-free plain "Given Family" for a Practitioner."""
    if not resource:
        return default
    _, family, given = human_name(resource.get("name"))
    prefix = ""
    names = resource.get("name") or []
    if names and isinstance(names[0], Mapping) and names[0].get("prefix"):
        prefix = " ".join(names[0]["prefix"]) + " "
    full = f"{prefix}{given} {family}".strip()
    return full or default


def reference_id(ref: object, resource_type: str | None = None) -> str | None:
    """ "Patient/123" (or a Reference dict, or an absolute URL ending in it) → "123"."""
    if type(ref) is dict or isinstance(ref, Mapping):
        ref = ref.get("reference")
    if not isinstance(ref, str) or "/" not in ref:
        return None
    return _reference_id(ref, resource_type)


@functools.lru_cache(maxsize=INSTANT_CACHE)
def _reference_id(ref: str, resource_type: str | None) -> str | None:
    parts = ref.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2:
        return None
    if resource_type is not None and parts[-2] != resource_type:
        return None
    return parts[-1]


def reference_key(ref: object) -> str | None:
    """ "Type/id" of a Reference (dict or string), relative form."""
    if type(ref) is dict or isinstance(ref, Mapping):
        ref = ref.get("reference")
    if not isinstance(ref, str) or "/" not in ref:
        return None
    return _reference_key(ref)


@functools.lru_cache(maxsize=INSTANT_CACHE)
def _reference_key(ref: str) -> str | None:
    parts = ref.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


def reference_display(ref: object, resolved: Mapping[str, JSON], default: str = "") -> str:
    """The name of what a Reference points at: the resolved resource's name, else the
    Reference's own `display`."""
    key = reference_key(ref)
    target = resolved.get(key) if key else None
    if target:
        rt = target.get("resourceType")
        if rt in ("Practitioner", "Patient", "RelatedPerson"):
            return practitioner_name(target, default)
        if target.get("name"):
            name = target["name"]
            return name if isinstance(name, str) else concept_text(name, default)
    if isinstance(ref, Mapping) and ref.get("display"):
        return str(ref["display"])
    return default


def quantity(q: object, default: str = "") -> str:
    """ "5 mg", "98.6 [degF]" → "98.6 °F"; decimals as sent (no float noise)."""
    if not isinstance(q, dict):
        return default
    value = q.get("value")
    if value is None:
        return default
    unit = q.get("unit") or q.get("code") or ""
    if str(unit).startswith("{") and str(unit).endswith("}"):
        unit = ""  # a UCUM annotation alone ("{score}") is not a unit to print
    unit = {
        "Cel": "°C",
        "[degF]": "°F",
        "/min": "/min",
        "mm[Hg]": "mmHg",
        "%": "%",
        "[iU]": "units",
        "[IU]": "units",
        "U": "units",
    }.get(str(unit), str(unit))
    return f"{number(value)} {unit}".strip()


def number(value: object) -> str:
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1e5 else str(value)
    return str(value)


def age(birth: date | None, now: datetime) -> str:
    """ "67 y", "8 mo", "12 d" (the way a chart shows age)."""
    if birth is None:
        return "age unknown"
    today = now.date()
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if years >= 2:
        return f"{years} y"
    months = (today.year - birth.year) * 12 + today.month - birth.month
    if today.day < birth.day:
        months -= 1
    if months >= 1:
        return f"{months} mo"
    return f"{max(0, (today - birth).days)} d"


SEX = {"male": "M", "female": "F", "other": "X", "unknown": "U"}


def sex(gender: object) -> str:
    return SEX.get(str(gender), "U")


_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"[ \t]+")


def attachment_text(att: object) -> str:
    """Readable text of an Attachment: base64 `data` decoded (text/plain, text/html with
    tags removed); "" when it holds no inline text."""
    if not isinstance(att, Mapping):
        return ""
    data = att.get("data")
    if not isinstance(data, str):
        return ""
    try:
        raw = base64.b64decode(data, validate=False)
    except (ValueError, TypeError):
        return ""
    text = raw.decode("utf-8", errors="replace")
    ctype = str(att.get("contentType") or "text/plain").lower()
    if "html" in ctype or "xml" in ctype:
        text = re.sub(r"<\s*(br|/p|/div|/li)\s*/?>", "\n", text, flags=re.I)
        text = html.unescape(_TAG.sub("", text))
    elif not ctype.startswith("text/"):
        return ""
    lines = [_WS.sub(" ", line).rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def phones(telecom: object) -> list[str]:
    """ "555-0100 (mobile)" for each phone ContactPoint, in order."""
    out = []
    for t in telecom if isinstance(telecom, list) else []:
        if isinstance(t, Mapping) and t.get("system") in (None, "phone", "sms") and t.get("value"):
            use = t.get("use")
            out.append(f"{t['value']} ({use})" if use else str(t["value"]))
    return out


def address_text(addresses: object) -> tuple[str, str]:
    """(one-line address, city) of the home (else first) address."""
    if not isinstance(addresses, list) or not addresses:
        return ("", "")
    by_use = {a.get("use"): a for a in addresses if isinstance(a, Mapping)}
    a = by_use.get("home") or addresses[0]
    if not isinstance(a, Mapping):
        return ("", "")
    if a.get("text"):
        return (str(a["text"]), str(a.get("city") or ""))
    parts: Iterable[Any] = [
        *(a.get("line") or []),
        a.get("city"),
        " ".join(str(x) for x in (a.get("state"), a.get("postalCode")) if x),
    ]
    return (", ".join(str(p) for p in parts if p), str(a.get("city") or ""))


def mrn(patient: JSON) -> str:
    """The medical record number: the identifier typed MR (v2-0203), else the one in
    Standby's MRN system, else the first identifier's value."""
    idents = [i for i in patient.get("identifier") or [] if isinstance(i, Mapping)]
    for i in idents:
        if has_code(i.get("type"), MRN_TYPE_SYSTEM, "MR") and i.get("value"):
            return str(i["value"])
    for i in idents:
        if i.get("system") == MRN_SYSTEM and i.get("value"):
            return str(i["value"])
    for i in idents:
        if i.get("value"):
            return str(i["value"])
    return ""


def short_time(dt: datetime | None, now: datetime | None = None) -> str:
    """ "14:05" today, "28 Nov 14:05" on another day, in the zone of `now` (the
    hospital's; as stored without `now`)."""
    if dt is None:
        return "—"
    if now is not None and now.tzinfo is not None and dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo)
    if now is not None and dt.date() == now.date():
        return wall_clock(dt)
    return wall_clock(dt, "%d %b %H:%M")


def repeated_wall_time(local: datetime) -> bool:
    """True when the wall-clock time of `local` (aware, in the hospital's zone) happens
    twice that day: the hour repeated when the clocks go back (01:30 EDT, then 01:30 EST)."""
    if local.tzinfo is None or local.utcoffset() is None:
        return False
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() == local.utcoffset():
        return False
    # a wall time that does not exist (clocks gone forward) also has two offsets
    real = local.astimezone(UTC).astimezone(local.tzinfo)
    return real.replace(tzinfo=None) == local.replace(tzinfo=None)


def wall_clock(local: datetime, fmt: str = "%H:%M") -> str:
    """`local` as `fmt` ("14:05"), with its zone's abbreviation when its wall-clock time
    is repeated that day ("01:30 EDT", "01:30 EST"): never one text for two instants."""
    text = local.strftime(fmt)
    return f"{text} {local.tzname()}" if repeated_wall_time(local) else text


def zone_span(tz: tzinfo, start: datetime, end: datetime) -> str:
    """The zone's abbreviation over [start, end] ("EST"); when the clocks change in between,
    both and the zone's name ("EDT/EST, America/New_York"), so that a label "times ..." is
    true of every time it heads (a time of the repeated hour also says its own)."""
    first = start.astimezone(tz).tzname() or str(tz)
    last = end.astimezone(tz).tzname() or str(tz)
    if first == last:
        return first
    return f"{first}/{last}, {getattr(tz, 'key', str(tz))}"
