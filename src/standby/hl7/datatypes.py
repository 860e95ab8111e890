"""HL7 v2 data types to FHIR R4 data types, after HL7's v2-to-FHIR implementation guide
(https://build.fhir.org/ig/HL7/v2-to-fhir/datatype_maps.html): CX -> Identifier,
CWE/CE -> CodeableConcept, XPN -> HumanName, XAD -> Address, XTN -> ContactPoint,
XCN -> a Reference by display and identifier, DTM/TS -> dateTime, PL -> a bed's name.

Pure functions of the parsed values (`standby.hl7.v2.Rep`) and a `Context` that carries
the feed's conventions (identifier systems, the hospital's time zone).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from standby.hl7.v2 import Rep, component

JSON = dict[str, Any]

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# v2 coding system names (table 0396) to FHIR code system URIs
CODING_SYSTEMS = {
    "LN": LOINC,
    "LOINC": LOINC,
    "SCT": SNOMED,
    "SNM": SNOMED,
    "SNOMEDCT": SNOMED,
    "RXNORM": RXNORM,
    "RXN": RXNORM,
    "UCUM": UCUM,
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9CDX": "http://hl7.org/fhir/sid/icd-9-cm",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "C4": "http://www.ama-assn.org/go/cpt",
}


@dataclass(frozen=True, slots=True)
class Context:
    """The conventions of one feed: where its identifiers come from, the hospital's clock."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # the system of medical record numbers (PID-3 with identifier type MR)
    mrn_system: str = "https://standby.example.org/fhir/sid/mrn"
    # systems of other identifiers are made under this base from their assigning authority
    system_base: str = "https://standby.example.org/fhir/sid/v2"
    # the message's own zone (MSH-7's offset), used for timestamps that give none
    message_tz: timezone | ZoneInfo | None = None

    def local_system(self, kind: str, authority: str = "") -> str:
        """The system of a local identifier: `<base>/<kind>[/<authority>]`."""
        slug = _slug(authority)
        return f"{self.system_base}/{kind}" + (f"/{slug}" if slug else "")


@functools.lru_cache(maxsize=1024)  # a feed names a few authorities, in every message
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def stable_id(prefix: str, *key: str) -> str:
    """A FHIR id that is a function of a real-world key (MRN, visit number, order number):
    the same thing arriving twice, or from two senders, is stored once."""
    h = hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:32]
    return f"{prefix}-{h}"


# ---- dates and times ------------------------------------------------------------------
_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")


@functools.lru_cache(maxsize=256)
def _zone(offset: str) -> timezone:  # a feed uses one or two offsets: made once each
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))


def message_zone(ts: str) -> timezone | None:
    """The UTC offset an MSH-7 timestamp carries (None when it gives none)."""
    m = _DTM.match(ts.strip())
    return _zone(m.group(8)) if m and m.group(8) else None


def date_time(ts: str, ctx: Context) -> str | None:
    """A v2 DTM/TS (YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) as a FHIR dateTime at the
    precision given; a time without an offset is in the message's zone, else the hospital's.
    None when it is not a timestamp."""
    return _date_time(ts, ctx.message_tz or ctx.tz)


# a message names the same instant in several fields (OBR-7, OBR-22, each OBX-14), and a
# feed's messages the same few zones: each (text, zone) converted once
@functools.lru_cache(maxsize=4096)
def _date_time(ts: str, zone: Any) -> str | None:
    m = _DTM.match(ts.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    try:
        if hh is None:
            datetime(int(y), int(mo or 1), int(d or 1))
            return "-".join(p for p in (y, mo, d) if p)
        tz: Any = _zone(off) if off else zone
        t = datetime(int(y), int(mo), int(d), int(hh), int(mi or 0), int(ss or 0), tzinfo=tz)
    except (ValueError, TypeError):
        return None
    if frac:
        t = t.replace(microsecond=int(frac.ljust(6, "0")[:6]))
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_only(ts: str, ctx: Context) -> str | None:
    """A birth date and the like: the date part only (YYYY[-MM[-DD]])."""
    m = _DTM.match(ts.strip())
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2), m.group(3)
    try:
        datetime(int(y), int(mo or 1), int(d or 1))
    except ValueError:
        return None
    return "-".join(p for p in (y, mo, d) if p)


def instant(ts: str, ctx: Context) -> str | None:
    """A v2 timestamp as a FHIR instant (needs at least minutes; seconds default to 0)."""
    got = date_time(ts, ctx)
    return got if got and "T" in got else None


# ---- codes -----------------------------------------------------------------------------
def coding_system(name: str) -> str | None:
    if not name:
        return None
    known = CODING_SYSTEMS.get(name.upper())
    if known:
        return known
    if re.fullmatch(r"\d+(\.\d+)+", name):
        return f"urn:oid:{name}"
    table = re.fullmatch(r"HL7(\d{4})", name.upper())
    if table:  # an HL7-defined table, e.g. HL70162 (route of administration)
        return f"http://terminology.hl7.org/CodeSystem/v2-{table.group(1)}"
    return None


def codeable(rep: Rep | None, ctx: Context, *, table: str = "") -> JSON | None:
    """CWE/CE (and CNE, CF): identifier^text^coding system^alternate identifier^alternate
    text^alternate coding system -> CodeableConcept with one coding per triplet. A code in a
    local coding system is kept under a system named after it (`<base>/cs/<name>`), or after
    `table` (an HL7 table number) when none is named."""
    if not rep:
        return None
    codings: list[JSON] = []
    for i in (1, 4):
        code, display, system = component(rep, i), component(rep, i + 1), component(rep, i + 2)
        if not code:
            continue
        uri = coding_system(system)
        if uri is None:
            if system:
                uri = ctx.local_system("cs", system)
            elif table:
                uri = f"http://terminology.hl7.org/CodeSystem/v2-{table}"
            else:
                uri = ctx.local_system("cs")
        c: JSON = {"system": uri, "code": code}
        if display:
            c["display"] = display
        codings.append(c)
    text = component(rep, 9) or component(rep, 2) or component(rep, 5)
    out: JSON = {}
    if codings:
        out["coding"] = codings
    if text:
        out["text"] = text
    return out or None


def identifier(rep: Rep, ctx: Context, *, kind: str = "id") -> JSON | None:
    """CX (and EI): value^check digit^check scheme^assigning authority^type^facility.
    An MRN gets the feed's MRN system; an ISO OID authority becomes `urn:oid:`."""
    value = component(rep, 1)
    if not value:
        return None
    id_type = component(rep, 5)
    auth_name, auth_uid, auth_kind = component(rep, 4), component(rep, 4, 2), component(rep, 4, 3)
    if id_type == "MR":
        system = ctx.mrn_system
    elif auth_uid and auth_kind.upper() == "ISO":
        system = f"urn:oid:{auth_uid}"
    elif auth_uid and auth_uid.startswith(("http://", "https://", "urn:")):
        system = auth_uid
    else:
        system = ctx.local_system(kind, auth_name)
    out: JSON = {"system": system, "value": value}
    if id_type:
        out["type"] = {"coding": [{"system": V2_0203, "code": id_type}]}
    return out


def entity_identifier(rep: Rep, ctx: Context, kind: str, id_type: str) -> JSON | None:
    """EI (an order number, an appointment id): entity id^namespace id^universal id^type."""
    value = component(rep, 1)
    if not value:
        return None
    uid, uid_type = component(rep, 3), component(rep, 4)
    if uid and uid_type.upper() == "ISO":
        system = f"urn:oid:{uid}"
    else:
        system = ctx.local_system(kind, component(rep, 2))
    return {
        "type": {"coding": [{"system": V2_0203, "code": id_type}]},
        "system": system,
        "value": value,
    }


_NAME_USE = {
    "L": "official",
    "D": "usual",
    "M": "maiden",
    "N": "nickname",
    "A": "anonymous",
    "B": "official",
    "C": "old",
    "S": "anonymous",
    "T": "temp",
    "P": "official",
}


def human_name(rep: Rep) -> JSON | None:
    """XPN: family^given^second given^suffix^prefix^degree^name type code."""
    family, given, middle = component(rep, 1), component(rep, 2), component(rep, 3)
    if not (family or given):
        return None
    out: JSON = {}
    use = _NAME_USE.get(component(rep, 7))
    if use:
        out["use"] = use
    if family:
        out["family"] = family
    givens = [g for g in (given, *middle.split(" ")) if g]
    if givens:
        out["given"] = givens
    if component(rep, 5):
        out["prefix"] = [component(rep, 5)]
    suffixes = [s for s in (component(rep, 4), component(rep, 6)) if s]
    if suffixes:
        out["suffix"] = suffixes
    return out


_ADDRESS_USE = {"H": "home", "B": "work", "O": "work", "C": "temp", "BA": "old"}


def address(rep: Rep) -> JSON | None:
    """XAD: street^other^city^state^zip^country^address type."""
    lines = [x for x in (component(rep, 1), component(rep, 2)) if x]
    out: JSON = {}
    use = _ADDRESS_USE.get(component(rep, 7))
    if use:
        out["use"] = use
    if lines:
        out["line"] = lines
    for key, n in (("city", 3), ("state", 4), ("postalCode", 5), ("country", 6)):
        if component(rep, n):
            out[key] = component(rep, n)
    return out if any(k != "use" for k in out) else None


def contact_point(rep: Rep, default_use: str) -> JSON | None:
    """XTN: [formatted number (v2.3)]^use code^equipment type^email^country^area^local^ext
    ^...^unformatted number (v2.5+: 12)."""
    equipment = component(rep, 3)
    email = component(rep, 4)
    if equipment == "Internet" or (email and not component(rep, 1)):
        return {"system": "email", "value": email or component(rep, 1), "use": default_use}
    number = component(rep, 12) or component(rep, 1)
    if not number and component(rep, 7):
        area = component(rep, 6)
        number = f"({area}) {component(rep, 7)}" if area else component(rep, 7)
    if not number:
        return None
    use = {"PRN": "home", "WPN": "work", "ORN": "home", "VHN": "home"}.get(
        component(rep, 2), default_use
    )
    system = {"FX": "fax", "BP": "pager"}.get(equipment, "phone")
    if equipment == "CP":
        use = "mobile"
    return {"system": system, "value": number, "use": use}


def person_display(rep: Rep) -> str:
    """XCN: id^family^given^middle^suffix^prefix -> "Dr Ada Lovelace"."""
    parts = [component(rep, 6), component(rep, 3), component(rep, 4), component(rep, 2)]
    return " ".join(p for p in parts if p)


def practitioner_ref(rep: Rep, ctx: Context) -> JSON | None:
    """XCN as a logical Reference to the practitioner (by identifier, with a display):
    the feed does not create Practitioner resources."""
    value = component(rep, 1)
    display = person_display(rep)
    if not (value or display):
        return None
    out: JSON = {}
    if value:
        auth = component(rep, 9)
        id_type = component(rep, 13)
        system = (
            "http://hl7.org/fhir/sid/us-npi"
            if id_type == "NPI" or auth.upper() == "NPI"
            else ctx.local_system("practitioner", auth)
        )
        out["identifier"] = {"system": system, "value": value}
    if display:
        out["display"] = display
    return out


def bed_name(rep: Rep) -> str:
    """PL: point of care^room^bed^facility -> "3W 301-A"."""
    unit, room, bed = component(rep, 1), component(rep, 2), component(rep, 3)
    return " ".join(p for p in (unit, "-".join(x for x in (room, bed) if x)) if p)


def quantity(value: str, unit_rep: Rep | None, ctx: Context) -> JSON | None:
    """A number with its CWE unit (UCUM when the unit's coding system says so or none is
    given, as lab units mostly are)."""
    try:
        number = float(value)
    except ValueError:
        return None
    out: JSON = {"value": int(number) if value.strip().lstrip("+-").isdigit() else number}
    if unit_rep:
        code, text, system = component(unit_rep, 1), component(unit_rep, 2), component(unit_rep, 3)
        out["unit"] = text or code
        if code and system.upper() in ("UCUM", "ANS+", ""):
            out["system"] = UCUM
            out["code"] = code
    return out
