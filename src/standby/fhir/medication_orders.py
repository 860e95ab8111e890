"""Medication orders and administrations as the MAR reads them, from FHIR.

MedicationRequest: https://hl7.org/fhir/R4/medicationrequest.html
MedicationAdministration: https://hl7.org/fhir/R4/medicationadministration.html

`medication` reads an order (drug, dose or rate, route, frequency, PRN and its minimum
interval, whether it is a continuous infusion);
`administration` reads one administration (when, dose or rate, status in the nurse's
words). `standby.fhir.mar` builds the record from these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.fhir.data_source import feed_sender
from standby.fhir.display import (
    concept_text,
    parse_instant,
    quantity,
    reference_display,
    reference_key,
)
from standby.fhir.infusion import (
    interval_text,
    is_continuous,
    minimum_interval,
    rate_text,
)
from standby.fhir.timing import describe, repeat_of

JSON = Mapping[str, Any]

ACTIVE_REQUEST = {"active", "on-hold"}
GIVEN = {"completed", "in-progress"}
# MedicationAdministration.status as the nurse says it
STATUS_TEXT = {
    "completed": "given",
    "in-progress": "running",
    "not-done": "NOT GIVEN",
    "on-hold": "paused",
    "stopped": "stopped",
    "entered-in-error": "entered in error",
    "unknown": "unknown",
}
REQUEST_STATUS_TEXT = {"on-hold": "on hold", "draft": "not yet active"}


@dataclass(frozen=True, slots=True)
class Medication:
    """One active medication order, as the nurse reads it."""

    id: str  # MedicationRequest id
    name: str
    dose: str  # "5 mg" ("" when the order carries none)
    route: str  # "oral"
    frequency: str  # "q6h", "BID", "PRN"
    prn: bool
    prn_reason: str
    instructions: str  # dosageInstruction.text
    status: str
    authored_on: datetime | None
    timing: Mapping[str, Any] | None = field(repr=False, default=None)
    rate: str = ""  # ordered rate: "5 mL/h", "4 mcg/kg/min" ("" when none)
    continuous: bool = False  # a rate with no schedule of doses: an infusion (drip)
    min_interval: timedelta | None = None  # PRN: the shortest time between two doses
    dosage: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @property
    def line(self) -> str:
        """ "Metoprolol tartrate 25 mg oral BID"."""
        return " ".join(p for p in (self.name, self.dose, self.route, self.frequency) if p)

    @property
    def dose_unless_named(self) -> str:
        """The dose, unless the drug's name already says it ("Furosemide 20 mg tab",
        20 mg): a due list need not repeat the strength."""
        return "" if self.dose and self.dose.lower() in self.name.lower() else self.dose

    @property
    def interval(self) -> str:
        """PRN: "every 4 h at most" ("" when the order does not say)."""
        return interval_text(self.min_interval)

    @property
    def status_text(self) -> str:
        """ "" for an active order, else its status in words ("on hold")."""
        if self.status in ("", "active"):
            return ""
        return REQUEST_STATUS_TEXT.get(self.status, self.status)


@dataclass(frozen=True, slots=True)
class Administration:
    id: str
    request_id: str | None
    medication: str
    when: datetime
    dose: str
    route: str
    status: str  # completed | not-done | ...
    performer: str
    reason_not_given: str = ""
    rate: str = ""  # the rate documented on it ("" for a dose)
    feed_sender: str = ""  # came by HL7 v2 feed from this sender ("": by FHIR sync, journal)
    received_at: datetime | None = None  # by feed: the message's time (meta.lastUpdated)

    @property
    def given(self) -> bool:
        return self.status in GIVEN

    @property
    def status_text(self) -> str:
        """The status in words: "given", "NOT GIVEN", "running"; a drip's rate that has
        ended (a completed administration with a rate and no dose) is "earlier rate", not
        "given", which would read as a dose."""
        if self.status == "completed" and self.rate and not self.dose:
            return "earlier rate"
        return STATUS_TEXT.get(self.status, self.status.replace("-", " "))


def _medication_name(req: JSON, resolved: Mapping[str, JSON]) -> str:
    if req.get("medicationCodeableConcept"):
        return concept_text(req["medicationCodeableConcept"], "(unnamed medication)")
    ref = req.get("medicationReference")
    key = reference_key(ref)
    med = resolved.get(key) if key else None
    if med and med.get("code"):
        return concept_text(med["code"], "(unnamed medication)")
    return reference_display(ref, {}, "(unnamed medication)")


def medication(req: JSON, resolved: Mapping[str, JSON] | None = None) -> Medication:
    """A MedicationRequest read for display. Tolerates `medicationReference` (resolved
    through `resolved` or its `display`), a missing dosage, `asNeededCodeableConcept`."""
    resolved = resolved or {}
    dosages = req.get("dosageInstruction") or [{}]
    d = dosages[0] if isinstance(dosages[0], Mapping) else {}
    dose = ""
    for dr in d.get("doseAndRate") or []:
        dose = quantity(dr.get("doseQuantity"))
        if not dose and dr.get("doseRange"):
            rng = dr["doseRange"]
            dose = f"{quantity(rng.get('low'))}–{quantity(rng.get('high'))}"
        if dose:
            break
    prn = bool(d.get("asNeededBoolean")) or bool(d.get("asNeededCodeableConcept"))
    timing = d.get("timing")
    schedule = describe(timing)
    freq = schedule.text
    if prn:
        freq = f"PRN {freq}" if freq != "as directed" else "PRN"
    continuous = not prn and is_continuous(d, schedule.scheduled)
    rate = ""
    for dr in d.get("doseAndRate") or []:
        rate = rate or rate_text(dr)
    if continuous:
        freq = "continuous"
    return Medication(
        id=str(req.get("id", "")),
        name=_medication_name(req, resolved),
        dose=dose,
        route=concept_text(d.get("route")),
        frequency=freq,
        prn=prn,
        prn_reason=concept_text(d.get("asNeededCodeableConcept")),
        instructions=str(d.get("text") or ""),
        status=str(req.get("status") or ""),
        authored_on=parse_instant(req.get("authoredOn")),
        timing=timing,
        rate=rate,
        continuous=continuous,
        min_interval=minimum_interval(timing, repeat_of(timing)) if prn else None,
        dosage=d,
    )


def administered_at(ma: JSON) -> datetime | None:
    """When an administration happened: `effectiveDateTime`, or the start of its period."""
    return parse_instant(ma.get("effectiveDateTime")) or parse_instant(
        (ma.get("effectivePeriod") or {}).get("start")
    )


def request_id_of(ma: JSON) -> str | None:
    """The id of the MedicationRequest an administration carries out."""
    return (reference_key(ma.get("request")) or "").removeprefix("MedicationRequest/") or None


PERSONS = ("Practitioner", "Patient", "RelatedPerson")


def _performer(actor: object, resolved: Mapping[str, JSON], names: dict[str, str] | None) -> str:
    """`reference_display` of the actor; with `names`, a person's name is worked out once
    per "Type/id" (it depends on the resolved resource alone: the same nurse gives most of
    a patient's doses)."""
    if names is None:
        return reference_display(actor, resolved)
    key = reference_key(actor)
    target = resolved.get(key) if key else None
    if key is None or not target or target.get("resourceType") not in PERSONS:
        return reference_display(actor, resolved)
    name = names.get(key)
    if name is None:
        name = names[key] = reference_display(actor, resolved)
    return name


def dose_record(ma: JSON) -> Administration | None:
    """What the MAR's doses read of an administration — when, status, the order and the
    rate a drip's line is built from — and nothing it would only display (drug, dose,
    route, performer, reason, feed): a census row shows the states of doses, never an
    administration (`medication_administration_record(..., doses_only=True)`)."""
    when = administered_at(ma)
    if when is None:
        return None
    return Administration(
        id=str(ma.get("id", "")),
        request_id=request_id_of(ma),
        medication="",
        when=when,
        dose="",
        route="",
        status=str(ma.get("status") or ""),
        performer="",
        rate=rate_text(ma.get("dosage") or {}),
    )


def administration(
    ma: JSON, resolved: Mapping[str, JSON] | None = None, names: dict[str, str] | None = None
) -> Administration | None:
    """A MedicationAdministration read for display. `names`: a memo of performers' names
    shared by the calls over one `resolved` (the MAR passes one per patient)."""
    resolved = resolved or {}
    when = administered_at(ma)
    if when is None:
        return None
    dosage = ma.get("dosage") or {}
    performers = ma.get("performer") or []
    performer = ""
    if performers and isinstance(performers[0], Mapping):
        performer = _performer(performers[0].get("actor"), resolved, names)
    return Administration(
        id=str(ma.get("id", "")),
        request_id=request_id_of(ma),
        medication=_medication_name(ma, resolved),
        when=when,
        dose=quantity(dosage.get("dose")),
        route=concept_text(dosage.get("route")),
        status=str(ma.get("status") or ""),
        performer=performer,
        reason_not_given=concept_text(ma.get("statusReason")),
        rate=rate_text(dosage),
        feed_sender=feed_sender(ma) or "",
        received_at=parse_instant((ma.get("meta") or {}).get("lastUpdated")),
    )
