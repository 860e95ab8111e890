"""The patient downtime summary: what a clinician needs when the EHR is down, decided once.

Shaped like the International Patient Summary (https://hl7.org/fhir/uv/ips/) with
inpatient additions (location, code status, isolation, the MAR, orders). Pure: a function
from the resources of one patient's compartment (+ the Practitioners, Locations and
Medications they point at) and `now` to plain dataclasses. The viewer and the PDF
packets render what this returns and decide nothing themselves (docs/clinical-summary.md).

Every section carries a `SectionStatus`:

* `present` — the replica holds entries for this patient;
* `none-recorded` — the replica synchronises this resource type and holds none for this
  patient ("None recorded in the EHR");
* `not-synchronised` — the replica does not hold this resource type at all (`held_types`
  says which types it holds), so absence means nothing ("Not synchronised").

Allergies have four states (data-model.md): listed; "No known allergies" (asserted with
SNOMED 716186003); "Allergies not recorded" (no AllergyIntolerance at all); not
synchronised.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from standby.fhir import display as d
from standby.fhir.header import (
    current_encounter,
    encounter_bed,
    flags,
    header,
    length_of_stay,
    location_path,
)
from standby.fhir.mar import medication, medication_administration_record
from standby.fhir.observations import code_status, lab_results, vital_signs
from standby.fhir.sections import (
    allergies,
    allergy_alerts,
    care_plan,
    notes,
    orders,
    problems,
    upcoming,
)
from standby.fhir.summary_model import (
    JSON,
    Allergies,
    Allergy,
    AllergyStatus,
    CarePlanItem,
    CodeStatus,
    Contact,
    Flag,
    Header,
    LabResult,
    Measurement,
    Note,
    Order,
    PatientSummary,
    Problem,
    Section,
    SectionStatus,
    Upcoming,
    VitalRow,
    VitalSigns,
    make_section,
    section_status,
)
from standby.fhir.timing import StandardTimes

__all__ = [
    "Allergies",
    "Allergy",
    "AllergyStatus",
    "CarePlanItem",
    "CodeStatus",
    "Contact",
    "Flag",
    "Header",
    "LabResult",
    "Measurement",
    "Note",
    "Order",
    "PatientSummary",
    "Problem",
    "Section",
    "SectionStatus",
    "Upcoming",
    "VitalRow",
    "VitalSigns",
    "allergies",
    "care_plan",
    "code_status",
    "current_encounter",
    "encounter_bed",
    "flags",
    "header",
    "lab_results",
    "length_of_stay",
    "location_path",
    "notes",
    "orders",
    "patient_summary",
    "problems",
    "referenced_keys",
    "upcoming",
    "vital_signs",
]


def _by_type(resources: Iterable[JSON]) -> dict[str, list[JSON]]:
    out: dict[str, list[JSON]] = {}
    for r in resources:
        out.setdefault(str(r.get("resourceType")), []).append(r)
    return out


def patient_summary(
    resources: Iterable[JSON],
    now: datetime,
    *,
    resolved: Mapping[str, JSON] | None = None,
    held_types: Collection[str] | None = None,
    hours: float = 48,
    charted_until: datetime | None = None,
    standard_times: StandardTimes | None = None,
    census_row: bool = False,
) -> PatientSummary:
    """The downtime summary of the patient whose compartment is `resources` (the Patient
    resource itself included). `resolved` maps "Type/id" to referenced resources outside
    the compartment (Practitioner, Location, Medication); `held_types` is the set of
    resource types the replica holds (None: assume every type is synchronised);
    `hours` the window of vitals, labs and administrations shown; `charted_until`, during
    a downtime, when the EHR stopped hearing of doses (`standby.fhir.mar.charting_cutoff`:
    later doses are "not charted", never overdue); `standard_times`, the hospital's standard
    administration times (the setting `mar_standard_times`). `census_row`: only what a
    census row shows is worked out in full (`standby.fhir.census.census_patient`): the
    header, the allergies and the MAR's doses; the MAR's administrations carry only what
    the doses are decided from and there are no allergy alerts."""
    resolved = resolved or {}
    by_type = _by_type(resources)
    patients = by_type.get("Patient") or [{}]
    held = held_types
    birth = d.parse_date(patients[0].get("birthDate"))
    vit = vital_signs(by_type.get("Observation", []), now, hours, birth=birth)
    hdr = header(patients[0], by_type, now, resolved, held, vit)
    reqs = by_type.get("MedicationRequest", [])
    meds = [medication(r, resolved) for r in reqs if r.get("status") in ("active", "on-hold")]
    mar = medication_administration_record(
        reqs,
        by_type.get("MedicationAdministration", []),
        now,
        resolved,
        medications=meds,
        charted_until=charted_until,
        standard=standard_times,
        doses_only=census_row,
    )
    meds = sorted(meds, key=lambda m: (m.prn, m.name.lower()))
    obs_all = by_type.get("Observation", [])
    srs = by_type.get("ServiceRequest", [])
    allergy = allergies(by_type.get("AllergyIntolerance", []), held)
    return PatientSummary(
        now=now,
        header=hdr,
        allergies=allergy,
        problems=problems(by_type.get("Condition", []), held),
        medications=make_section(meds, "active medications", ["MedicationRequest"], held),
        mar=mar,
        mar_status=section_status(
            len(mar.scheduled) + len(mar.prn) + len(mar.infusions) + len(mar.recent),
            ["MedicationRequest", "MedicationAdministration"],
            held,
        ),
        vitals=vit,
        vitals_status=section_status(len(vit.rows), ["Observation"], held),
        labs=lab_results(obs_all, now, hours, held, charted_until=charted_until),
        notes=notes(by_type.get("DocumentReference", []), held),
        orders=orders(srs, resolved, held),
        care_plan=care_plan(by_type.get("CarePlan", []), held),
        upcoming=upcoming(by_type.get("Appointment", []), srs, now, resolved, held),
        allergy_alerts={} if census_row else allergy_alerts(meds, allergy),
    )


REFERENCE_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Encounter": (("participant", "individual"), ("location", "location")),
    "MedicationRequest": (("medicationReference",), ("requester",)),
    "MedicationAdministration": (("medicationReference",), ("performer", "actor")),
    "Appointment": (("participant", "actor"),),
    "ServiceRequest": (("requester",), ("performer",)),
    "DocumentReference": (("author",),),
}
OUTSIDE = ("Practitioner/", "Location/", "Medication/", "PractitionerRole/", "Organization/")


def _flat(xs: list[object], out: list[dict[str, object]]) -> list[dict[str, object]]:
    for v in xs:
        if type(v) is dict:
            out.append(v)
        elif type(v) is list:
            _flat(v, out)
        elif isinstance(v, dict):
            out.append(v)
        elif isinstance(v, list):
            _flat(v, out)
    return out


def _refs(x: object, path: tuple[str, ...]) -> list[object]:
    """The `reference` of every Reference at `path` under `x` (lists flattened)."""
    cur = [x]
    for key in path:
        cur = [v.get(key) for v in _flat(cur, [])]
    return [v.get("reference") for v in _flat(cur, [])]


def _refs_at(r: JSON, path: tuple[str, ...], refs: set[str]) -> None:
    """`_refs` for the shapes resources take (a Reference, or a list of them, one or two
    keys down), the general walk for any other; adds the strings to `refs`."""
    top = r.get(path[0])
    if top is None:
        return
    if len(path) == 1 and type(top) is dict:
        ref = top.get("reference")
        if type(ref) is str:
            refs.add(ref)
        return
    if len(path) == 2 and type(top) is list and all(type(v) is dict for v in top):
        for v in top:
            inner = v.get(path[1])
            if type(inner) is dict:
                ref = inner.get("reference")
                if type(ref) is str:
                    refs.add(ref)
            elif inner is not None:
                refs.update(x for x in _refs(inner, ()) if isinstance(x, str))
        return
    refs.update(x for x in _refs(r, path) if isinstance(x, str))


def referenced_keys(resources: Iterable[JSON]) -> set[str]:
    """ "Type/id" of the Practitioners, Locations and Medications that a summary names and
    that live outside the patient compartment (for the caller to resolve)."""
    refs: set[str] = set()
    for r in resources:
        rt = r.get("resourceType")
        paths = REFERENCE_FIELDS.get(rt) if type(rt) is str else None
        if paths:
            for path in paths:
                _refs_at(r, path, refs)
    out: set[str] = set()
    for ref in refs:  # many resources name the same few (the same nurse, the same drug)
        if ref.startswith(OUTSIDE):
            key = d.reference_key(ref)
            if key:
                out.add(key)
    return out
