"""The search parameters Standby indexes, as data: the per-resource parameter table.

Each parameter is `(kind, paths)`: kind is one of token, string, date, reference (the
typed index tables, as HAPI and the Microsoft FHIR server keep them); paths are dotted
element paths, walked through lists, with choice types spelled out (`effectiveDateTime`,
`effectivePeriod`). https://hl7.org/fhir/R4/search.html and the per-resource search
parameter tables of https://hl7.org/fhir/R4/searchparameter-registry.html

`params_for(type)` gives one type's table, `resolve_param(type, name)` a parameter as
searched (aliases followed); `COMPARTMENT_PATHS` the elements that place a resource in a
Patient's compartment. The values themselves are extracted by `standby.fhir.search_params`.
"""

from __future__ import annotations

TOKEN, STRING, DATE, REFERENCE = "token", "string", "date", "reference"
KINDS = (TOKEN, STRING, DATE, REFERENCE)

ParamDef = tuple[str, tuple[str, ...]]

#: Parameters every resource type has (kept on the resource row, not in index tables).
SPECIAL_PARAMS = ("_id", "_lastUpdated")

_IDENT: ParamDef = (TOKEN, ("identifier",))
_STATUS: ParamDef = (TOKEN, ("status",))
_CODE: ParamDef = (TOKEN, ("code",))
_CATEGORY: ParamDef = (TOKEN, ("category",))
_SUBJECT: ParamDef = (REFERENCE, ("subject",))
_ENCOUNTER: ParamDef = (REFERENCE, ("encounter",))
_PATIENT_SUBJECT: ParamDef = (REFERENCE, ("subject",))  # restricted to Patient targets
_PATIENT: ParamDef = (REFERENCE, ("patient",))
_NAME: ParamDef = (STRING, ("name",))
_PERIOD_DATE: ParamDef = (DATE, ("period",))

#: Parameters of types not listed below (only those whose element exists are indexed).
DEFAULT_PARAMS: dict[str, ParamDef] = {
    "identifier": _IDENT,
    "status": _STATUS,
    "code": _CODE,
    "category": _CATEGORY,
    "subject": _SUBJECT,
    "patient": (REFERENCE, ("patient", "subject")),
    "encounter": (REFERENCE, ("encounter", "context")),
}

PARAMS: dict[str, dict[str, ParamDef]] = {
    "Patient": {
        "identifier": _IDENT,
        "name": (STRING, ("name",)),
        "family": (STRING, ("name.family",)),
        "given": (STRING, ("name.given",)),
        "birthdate": (DATE, ("birthDate",)),
        "gender": (TOKEN, ("gender",)),
        "active": (TOKEN, ("active",)),
        "general-practitioner": (REFERENCE, ("generalPractitioner",)),
        "organization": (REFERENCE, ("managingOrganization",)),
    },
    "Practitioner": {
        "identifier": _IDENT,
        "name": _NAME,
        "family": (STRING, ("name.family",)),
        "given": (STRING, ("name.given",)),
        "active": (TOKEN, ("active",)),
    },
    "PractitionerRole": {
        "identifier": _IDENT,
        "practitioner": (REFERENCE, ("practitioner",)),
        "organization": (REFERENCE, ("organization",)),
        "location": (REFERENCE, ("location",)),
        "role": (TOKEN, ("code",)),
        "specialty": (TOKEN, ("specialty",)),
        "active": (TOKEN, ("active",)),
    },
    "Organization": {
        "identifier": _IDENT,
        "name": (STRING, ("name", "alias")),
        "type": (TOKEN, ("type",)),
        "partof": (REFERENCE, ("partOf",)),
        "active": (TOKEN, ("active",)),
    },
    "Location": {
        "identifier": _IDENT,
        "name": (STRING, ("name", "alias")),
        "status": _STATUS,
        "type": (TOKEN, ("type",)),
        "physical-type": (TOKEN, ("physicalType",)),
        "partof": (REFERENCE, ("partOf",)),
        "organization": (REFERENCE, ("managingOrganization",)),
    },
    "Encounter": {
        "identifier": _IDENT,
        "status": _STATUS,
        "class": (TOKEN, ("class",)),
        "type": (TOKEN, ("type",)),
        "subject": _SUBJECT,
        "date": _PERIOD_DATE,
        "location": (REFERENCE, ("location.location",)),
        "participant": (REFERENCE, ("participant.individual",)),
        "service-provider": (REFERENCE, ("serviceProvider",)),
        "reason-code": (TOKEN, ("reasonCode",)),
        "part-of": (REFERENCE, ("partOf",)),
        "based-on": (REFERENCE, ("basedOn",)),
    },
    "Observation": {
        "identifier": _IDENT,
        "status": _STATUS,
        "code": _CODE,
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": (DATE, ("effectiveDateTime", "effectivePeriod", "effectiveInstant")),
        "based-on": (REFERENCE, ("basedOn",)),
        "part-of": (REFERENCE, ("partOf",)),
        "performer": (REFERENCE, ("performer",)),
        "component-code": (TOKEN, ("component.code",)),
        "value-concept": (TOKEN, ("valueCodeableConcept",)),
    },
    "Condition": {
        "identifier": _IDENT,
        "code": _CODE,
        "category": _CATEGORY,
        "clinical-status": (TOKEN, ("clinicalStatus",)),
        "verification-status": (TOKEN, ("verificationStatus",)),
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": (DATE, ("recordedDate", "onsetDateTime", "onsetPeriod")),
    },
    "AllergyIntolerance": {
        "identifier": _IDENT,
        "code": _CODE,
        "category": _CATEGORY,
        "clinical-status": (TOKEN, ("clinicalStatus",)),
        "verification-status": (TOKEN, ("verificationStatus",)),
        "criticality": (TOKEN, ("criticality",)),
        "patient": _PATIENT,
        "encounter": _ENCOUNTER,
        "date": (DATE, ("recordedDate",)),
    },
    "MedicationRequest": {
        "identifier": _IDENT,
        "status": _STATUS,
        "intent": (TOKEN, ("intent",)),
        "category": _CATEGORY,
        "code": (TOKEN, ("medicationCodeableConcept",)),
        "medication": (REFERENCE, ("medicationReference",)),
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "authored": (DATE, ("authoredOn",)),
        "requester": (REFERENCE, ("requester",)),
        "based-on": (REFERENCE, ("basedOn",)),
    },
    "MedicationAdministration": {
        "identifier": _IDENT,
        "status": _STATUS,
        "code": (TOKEN, ("medicationCodeableConcept",)),
        "medication": (REFERENCE, ("medicationReference",)),
        "subject": _SUBJECT,
        "context": (REFERENCE, ("context",)),
        "date": (DATE, ("effectiveDateTime", "effectivePeriod")),
        "request": (REFERENCE, ("request",)),
        "part-of": (REFERENCE, ("partOf",)),
        "performer": (REFERENCE, ("performer.actor",)),
    },
    "Appointment": {
        "identifier": _IDENT,
        "status": _STATUS,
        "date": (DATE, ("start",)),
        "actor": (REFERENCE, ("participant.actor",)),
        "based-on": (REFERENCE, ("basedOn",)),
        "slot": (REFERENCE, ("slot",)),
        "service-category": (TOKEN, ("serviceCategory",)),
        "service-type": (TOKEN, ("serviceType",)),
        "appointment-type": (TOKEN, ("appointmentType",)),
    },
    "Schedule": {
        "identifier": _IDENT,
        "actor": (REFERENCE, ("actor",)),
        "active": (TOKEN, ("active",)),
        "date": (DATE, ("planningHorizon",)),
        "service-type": (TOKEN, ("serviceType",)),
    },
    "Slot": {
        "identifier": _IDENT,
        "status": _STATUS,
        "schedule": (REFERENCE, ("schedule",)),
        "start": (DATE, ("start",)),
        "service-type": (TOKEN, ("serviceType",)),
    },
    "DocumentReference": {
        # DocumentReference.masterIdentifier | DocumentReference.identifier
        # (https://hl7.org/fhir/R4/documentreference.html#search)
        "identifier": (TOKEN, ("masterIdentifier", "identifier")),
        "status": _STATUS,
        "type": (TOKEN, ("type",)),
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": (REFERENCE, ("context.encounter",)),
        "date": (DATE, ("date",)),
        "author": (REFERENCE, ("author",)),
    },
    "Procedure": {
        "identifier": _IDENT,
        "status": _STATUS,
        "code": _CODE,
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": (DATE, ("performedDateTime", "performedPeriod")),
        "based-on": (REFERENCE, ("basedOn",)),
        "part-of": (REFERENCE, ("partOf",)),
        "performer": (REFERENCE, ("performer.actor",)),
        "location": (REFERENCE, ("location",)),
    },
    "Flag": {
        "identifier": _IDENT,
        "status": _STATUS,
        "code": _CODE,
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": _PERIOD_DATE,
    },
    "CarePlan": {
        "identifier": _IDENT,
        "status": _STATUS,
        "intent": (TOKEN, ("intent",)),
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": _PERIOD_DATE,
        "based-on": (REFERENCE, ("basedOn",)),
        "part-of": (REFERENCE, ("partOf",)),
    },
    "ServiceRequest": {
        "identifier": _IDENT,
        "status": _STATUS,
        "intent": (TOKEN, ("intent",)),
        "code": _CODE,
        "category": _CATEGORY,
        "priority": (TOKEN, ("priority",)),
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "authored": (DATE, ("authoredOn",)),
        "occurrence": (DATE, ("occurrenceDateTime", "occurrencePeriod")),
        "requester": (REFERENCE, ("requester",)),
        "performer": (REFERENCE, ("performer",)),
        "based-on": (REFERENCE, ("basedOn",)),
    },
    "DiagnosticReport": {
        "identifier": _IDENT,
        "status": _STATUS,
        "code": _CODE,
        "category": _CATEGORY,
        "subject": _SUBJECT,
        "encounter": _ENCOUNTER,
        "date": (DATE, ("effectiveDateTime", "effectivePeriod")),
        "based-on": (REFERENCE, ("basedOn",)),
        "result": (REFERENCE, ("result",)),
    },
}

#: Parameters searched through another's index rows: name → (indexed name, target type).
#: They cost no disk (HAPI and Microsoft index `patient` and `subject` twice).
_PATIENT_ALIAS: dict[str, tuple[str, str | None]] = {"patient": ("subject", "Patient")}
ALIASES: dict[str, dict[str, tuple[str, str | None]]] = {
    **{
        t: _PATIENT_ALIAS
        for t in (
            "Observation",
            "Condition",
            "MedicationRequest",
            "DocumentReference",
            "Procedure",
            "Flag",
            "CarePlan",
            "ServiceRequest",
            "DiagnosticReport",
        )
    },
    "Encounter": {**_PATIENT_ALIAS, "practitioner": ("participant", "Practitioner")},
    "MedicationRequest": {**_PATIENT_ALIAS, "authoredon": ("authored", None)},
    "MedicationAdministration": {
        **_PATIENT_ALIAS,
        "encounter": ("context", None),
        "effective-time": ("date", None),
    },
    "Appointment": {
        "patient": ("actor", "Patient"),
        "practitioner": ("actor", "Practitioner"),
        "location": ("actor", "Location"),
    },
    "Slot": {"date": ("start", None)},
    "Condition": {
        **_PATIENT_ALIAS,
        "recorded-date": ("date", None),
        "onset-date": ("date", None),
    },
}

#: Which elements point at the patient whose compartment a resource belongs to.
COMPARTMENT_PATHS: tuple[str, ...] = (
    "patient",
    "subject",
    "participant.actor",
    "beneficiary",
    "individual",
)


def params_for(resource_type: str) -> dict[str, ParamDef]:
    """The searchable parameters of one type (not counting `_id` and `_lastUpdated`)."""
    return PARAMS.get(resource_type, DEFAULT_PARAMS)


def resolve_param(resource_type: str, name: str) -> tuple[str, ParamDef, str | None] | None:
    """`(indexed name, definition, required target type)` of a parameter as searched
    (aliases followed: `authoredOn` → `authored`, Observation `patient` → `subject`)."""
    table = params_for(resource_type)
    aliases = ALIASES.get(resource_type, {})
    for n in (name, name.lower()):
        if n in aliases:
            target, rtype = aliases[n]
            return target, table[target], rtype
        if n in table:
            return n, table[n], None
    return None
