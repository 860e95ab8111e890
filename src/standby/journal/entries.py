"""What a clinician documents while the EHR is down: the journal's entries (pure: no I/O).

An entry is made once and never changed. It has a UUID from the moment it is made (the
identifier every FHIR resource made from it carries, so that back-entry can never file it
twice), who wrote it and in which role, when the act was performed (which may be earlier
than when it was entered: a dose given at 02:10, charted at 02:40) and when it was
recorded, the node it was entered on, how it was captured (typed at the bedside, or
transcribed from a paper form by a clerk, for its original author), and its payload.
A correction is a new entry naming the one it corrects (`corrects`); a mistaken entry is
struck by a `strike` entry naming it, with a reason. Drill entries are kept apart
(`drill`) and never filed into the EHR.

`make_entry` checks a payload against its kind (`check_payload`) and refuses what cannot
be filed, naming the field; `implausible` lists what is possible but unlikely (a
temperature of 3.7 °C, a heart rate of 700: a slip of the decimal point), which is stored
only with `"confirmed": true` in the payload, set when the clinician confirms it.
docs/journal.md describes every kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    VITALS = "vitals"
    ADMINISTRATION = "administration"
    NOTE = "note"
    ORDER = "order"
    ALLERGY = "allergy"
    NO_KNOWN_ALLERGIES = "no-known-allergies"
    ADMIT = "admit"
    TRANSFER = "transfer"
    DISCHARGE = "discharge"
    REGISTRATION = "registration"
    STRIKE = "strike"


class Capture(StrEnum):
    BEDSIDE = "bedside"  # typed by its author at the time
    TRANSCRIBED = "transcribed"  # typed later from a paper form by someone else


class EntryError(ValueError):
    """A payload that cannot become a record: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Entry:
    id: str  # a UUID, made with the entry
    kind: Kind
    patient_id: str
    encounter_id: str | None
    author: str  # the username of who performed / wrote it
    author_name: str  # as people read it ("Dana Whitfield, RN")
    role: str
    performed_at: datetime  # aware
    recorded_at: datetime  # aware; never before performed_at
    node: str  # the Standby node it was entered on
    capture: Capture
    transcribed_by: str | None  # the clerk's username, for transcribed entries
    payload: Mapping[str, Any] = field(default_factory=dict)
    corrects: str | None = None  # the entry this one corrects or strikes
    drill: bool = False


# ---- vital signs: names, units, what is impossible and what is only unlikely -----------------
@dataclass(frozen=True, slots=True)
class VitalRange:
    label: str
    unit: str
    possible: tuple[float, float]  # outside: refused (not a human measurement)
    plausible: tuple[float, float]  # outside: asks the clinician to confirm


VITALS: dict[str, VitalRange] = {
    "temperature_c": VitalRange("Temperature", "°C", (0.0, 50.0), (34.0, 42.0)),
    "heart_rate": VitalRange("Heart rate", "/min", (0, 1000), (30, 200)),
    "resp_rate": VitalRange("Respiratory rate", "/min", (0, 200), (6, 50)),
    "systolic": VitalRange("Systolic BP", "mmHg", (0, 400), (60, 230)),
    "diastolic": VitalRange("Diastolic BP", "mmHg", (0, 300), (30, 140)),
    "spo2": VitalRange("SpO2", "%", (0, 100), (70, 100)),
    "weight_kg": VitalRange("Weight", "kg", (0.2, 1000.0), (0.5, 300.0)),
    "pain": VitalRange("Pain score", "0-10", (0, 10), (0, 10)),
}

ADMINISTRATION_STATUSES = ("given", "held", "refused", "not-given")
NOTE_TYPES = ("progress", "nursing")
ORDER_CATEGORIES = ("medication", "lab", "imaging", "nursing")
SEXES = ("male", "female", "other", "unknown")
SETTINGS = ("inpatient", "emergency", "ambulatory")  # where a registered patient is seen


def _text(payload: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise EntryError(name, "is required")
        return ""
    if not isinstance(value, str):
        raise EntryError(name, "must be text")
    if len(value) > limit:
        raise EntryError(name, f"is longer than {limit} characters")
    return value.strip()


def _one_of(payload: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = _text(payload, name)
    if value not in allowed:
        raise EntryError(name, f"must be one of {', '.join(allowed)}")
    return value


def _vitals(payload: Mapping[str, Any]) -> None:
    present = [k for k in VITALS if payload.get(k) is not None]
    unknown = sorted(set(payload) - set(VITALS) - {"confirmed", "position", "comment"})
    if unknown:
        raise EntryError(unknown[0], "is not a vital sign this form records")
    if not present:
        raise EntryError("vitals", "at least one measurement is required")
    for k in present:
        v = payload[k]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise EntryError(k, "must be a number")
        low, high = VITALS[k].possible
        if not low <= v <= high:
            hint = " (°C, not °F)" if k == "temperature_c" and v > high else ""
            raise EntryError(k, f"{v} {VITALS[k].unit} cannot be recorded{hint}: {low}–{high}")
    if ("systolic" in present) != ("diastolic" in present):
        raise EntryError("systolic", "a blood pressure needs both systolic and diastolic")
    if "systolic" in present and payload["diastolic"] >= payload["systolic"]:
        raise EntryError("diastolic", "must be lower than the systolic pressure")
    _text(payload, "comment", required=False, limit=500)


def implausible(kind: Kind, payload: Mapping[str, Any]) -> list[str]:
    """What is possible but unlikely enough to ask "are you sure?" (a decimal point in the
    wrong place: 3.7 °C for 37 °C; 700 for 70). Empty when nothing needs confirming."""
    if kind is not Kind.VITALS:
        return []
    out = []
    for k, r in VITALS.items():
        v = payload.get(k)
        if isinstance(v, int | float) and not r.plausible[0] <= v <= r.plausible[1]:
            out.append(f"{r.label} {v:g} {r.unit} is outside {r.plausible[0]:g}–{r.plausible[1]:g}")
    return out


def _administration(payload: Mapping[str, Any]) -> None:
    _text(payload, "request_id", limit=64)
    _text(payload, "medication", limit=300)
    status = _one_of(payload, "status", ADMINISTRATION_STATUSES)
    if status == "given":
        _text(payload, "dose", limit=100)
        _text(payload, "route", limit=100)
    else:
        _text(payload, "reason", limit=300)
    _text(payload, "site", required=False, limit=100)
    _text(payload, "scheduled_for", required=False, limit=40)


def _note(payload: Mapping[str, Any]) -> None:
    _one_of(payload, "note_type", NOTE_TYPES)
    _text(payload, "title", limit=200)
    _text(payload, "text", limit=50_000)


def _order(payload: Mapping[str, Any]) -> None:
    category = _one_of(payload, "category", ORDER_CATEGORIES)
    _text(payload, "text", limit=1000)
    _text(payload, "orderer", limit=200)  # the ordering physician, as people read it
    _one_of(payload, "priority", ("routine", "urgent", "stat"))
    if category == "medication":
        for name in ("medication", "dose", "route", "frequency"):
            _text(payload, name, limit=200)


def _allergy(payload: Mapping[str, Any]) -> None:
    _text(payload, "substance", limit=200)
    _text(payload, "reaction", required=False, limit=300)
    if payload.get("criticality") is not None:
        _one_of(payload, "criticality", ("low", "high", "unable-to-assess"))


def _location(payload: Mapping[str, Any]) -> None:
    _text(payload, "location_id", limit=64)


def _discharge(payload: Mapping[str, Any]) -> None:
    _text(payload, "disposition", limit=200)


def _registration(payload: Mapping[str, Any]) -> None:
    _text(payload, "family", limit=100)
    _text(payload, "given", required=False, limit=100)
    birth = _text(payload, "birth_date", limit=10)
    try:
        datetime.strptime(birth, "%Y-%m-%d")
    except ValueError:
        raise EntryError("birth_date", "must be a date, YYYY-MM-DD") from None
    _one_of(payload, "sex", SEXES)
    _text(payload, "mrn", limit=40)
    _text(payload, "encounter_number", limit=40)
    _text(payload, "location_id", required=False, limit=64)
    if payload.get("setting") is not None:
        _one_of(payload, "setting", SETTINGS)
    for name in (
        "phone",
        "address",
        "identifying_notes",
        "ehr_mrn",
        "other_identifier",
        "other_identifier_type",
        "brought_by",
    ):
        _text(payload, name, required=False, limit=300)


def _strike(payload: Mapping[str, Any]) -> None:
    _text(payload, "reason", limit=300)


_CHECKS = {
    Kind.VITALS: _vitals,
    Kind.ADMINISTRATION: _administration,
    Kind.NOTE: _note,
    Kind.ORDER: _order,
    Kind.ALLERGY: _allergy,
    Kind.NO_KNOWN_ALLERGIES: lambda p: None,
    Kind.ADMIT: _location,
    Kind.TRANSFER: _location,
    Kind.DISCHARGE: _discharge,
    Kind.REGISTRATION: _registration,
    Kind.STRIKE: _strike,
}


def check_payload(kind: Kind, payload: Mapping[str, Any]) -> None:
    """Raise `EntryError` naming the first field that cannot be filed as `kind`."""
    if not isinstance(payload, Mapping):
        raise EntryError("payload", "must be an object")
    _CHECKS[kind](payload)


# how far back a performed time may be, and how far ahead of the clock (a tablet's clock)
MAX_BACKDATE = timedelta(days=31)
MAX_AHEAD = timedelta(minutes=5)


def make_entry(
    kind: Kind | str,
    *,
    patient_id: str,
    author: str,
    author_name: str,
    role: str,
    node: str,
    now: datetime,
    payload: Mapping[str, Any],
    performed_at: datetime | None = None,
    encounter_id: str | None = None,
    capture: Capture = Capture.BEDSIDE,
    transcribed_by: str | None = None,
    corrects: str | None = None,
    drill: bool = False,
    entry_id: str | None = None,
) -> Entry:
    """A new entry (a new UUID unless `entry_id` is given: a form re-submitted after a
    lost response carries the UUID it was shown, so it is stored once)."""
    kind = Kind(kind)
    if now.tzinfo is None or (performed_at is not None and performed_at.tzinfo is None):
        raise EntryError("performed_at", "times must carry their zone")
    performed = performed_at or now
    if performed > now + MAX_AHEAD:
        raise EntryError("performed_at", "is in the future")
    if performed < now - MAX_BACKDATE:
        raise EntryError("performed_at", "is more than 31 days ago")
    if not patient_id:
        raise EntryError("patient", "is required")
    if capture is Capture.TRANSCRIBED and not transcribed_by:
        raise EntryError("transcribed_by", "a transcribed entry names who transcribed it")
    if kind is Kind.STRIKE and not corrects:
        raise EntryError("corrects", "a strike names the entry it strikes")
    check_payload(kind, payload)
    unlikely = implausible(kind, payload)
    if unlikely and payload.get("confirmed") is not True:
        raise EntryError("confirmed", "; ".join(unlikely) + ": confirm the value or correct it")
    if entry_id is not None:
        entry_id = str(uuid.UUID(entry_id))
    return Entry(
        id=entry_id or str(uuid.uuid4()),
        kind=kind,
        patient_id=patient_id,
        encounter_id=encounter_id,
        author=author,
        author_name=author_name,
        role=role,
        performed_at=performed,
        recorded_at=now,
        node=node,
        capture=Capture(capture),
        transcribed_by=transcribed_by if capture is Capture.TRANSCRIBED else None,
        payload=dict(payload),
        corrects=corrects,
        drill=drill,
    )
