"""Curated code tables of the synthetic hospital: real LOINC, RxNorm, SNOMED CT and
ICD-10-CM codes with their display text (docs/data-model.md says how each is read).

Code systems: https://hl7.org/fhir/R4/terminologies-systems.html
Every CodeableConcept here is built once and shared by every resource that uses it
(the generator never mutates them), which keeps generation fast.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
MRN_SYSTEM = "https://standby.example.org/fhir/sid/mrn"
HOSPITAL_SYSTEM = "https://standby.example.org/fhir/sid/hospital"
# visit numbers (HL7 v2 PV1-19) and the EHR's placer order numbers (ORC-2, namespace SIMEHR):
# what the interface engine's messages carry, so that feed and FHIR sync name a visit or
# an order alike (docs/hl7.md, "One thing, one resource")
VISIT_SYSTEM = "https://standby.example.org/fhir/sid/visit"
PLACER_SYSTEM = "https://standby.example.org/fhir/sid/v2/placer-order/simehr"
EXT = "https://standby.example.org/fhir/StructureDefinition"
SURGICAL_PRIORITY_EXT = f"{EXT}/surgical-priority"
ANESTHESIA_EXT = f"{EXT}/anesthesia-type"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MED_ADMIN_CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-admin-category"
MED_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def cc(system: str, code: str, display: str, text: str | None = None) -> JSON:
    """A CodeableConcept with one coding (and text, the display by default)."""
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


def cc2(s1: str, c1: str, d1: str, s2: str, c2: str, d2: str, text: str | None = None) -> JSON:
    """A CodeableConcept with two codings (e.g. ICD-10-CM and SNOMED CT)."""
    return {
        "coding": [
            {"system": s1, "code": c1, "display": d1},
            {"system": s2, "code": c2, "display": d2},
        ],
        "text": text or d1,
    }


def text_cc(text: str) -> JSON:
    return {"text": text}


# ---- locations ---------------------------------------------------------------------
def physical_type(code: str, display: str) -> JSON:
    return {"coding": [{"system": PHYSICAL_TYPE, "code": code, "display": display}]}


PT_SITE = physical_type("si", "Site")
PT_BUILDING = physical_type("bu", "Building")
PT_WING = physical_type("wi", "Wing")
PT_ROOM = physical_type("ro", "Room")
PT_BED = physical_type("bd", "Bed")

UNIT_TYPES = {
    "ICU": cc(ROLE_CODE, "ICU", "Intensive care unit"),
    "HU": cc(ROLE_CODE, "HU", "Hospital unit"),
    "ER": cc(ROLE_CODE, "ER", "Emergency room"),
    "OR": cc(ROLE_CODE, "OR", "Operating room"),
    "PEDU": cc(ROLE_CODE, "PEDU", "Pediatric unit"),
    "PEDICU": cc(ROLE_CODE, "PEDICU", "Pediatric intensive care unit"),
    "CCU": cc(ROLE_CODE, "CCU", "Coronary care unit"),
    "OF": cc(ROLE_CODE, "OF", "Outpatient facility"),
}

# ---- encounters --------------------------------------------------------------------
ENC_CLASS = {
    "IMP": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
    "EMER": {"system": ACT_CODE, "code": "EMER", "display": "emergency"},
    "AMB": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
}
ATTENDER = [cc(PARTICIPATION, "ATND", "attender")]
PRIMARY_PERFORMER = [
    {
        "coding": [{"system": PARTICIPATION, "code": "PPRF", "display": "primary performer"}],
        "text": "Surgeon",
    }
]
SECONDARY_PERFORMER = [
    {
        "coding": [{"system": PARTICIPATION, "code": "SPRF", "display": "secondary performer"}],
        "text": "Anesthesiologist",
    }
]
MRN_TYPE = {
    "coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}],
    "text": "MRN",
}
VN_TYPE = {
    "coding": [{"system": V2_0203, "code": "VN", "display": "Visit number"}],
    "text": "Visit number",
}
PLAC_TYPE = {"coding": [{"system": V2_0203, "code": "PLAC", "display": "Placer Identifier"}]}
NPI_TYPE = {
    "coding": [{"system": V2_0203, "code": "NPI", "display": "National provider identifier"}],
    "text": "NPI",
}


# ---- allergies ---------------------------------------------------------------------
NKA = cc(SNOMED, "716186003", "No known allergy", "No known allergies")
# (substance, category, typical criticality)
ALLERGENS: list[tuple[JSON, str]] = [
    (cc(RXNORM, "70618", "penicillin", "Penicillin"), "medication"),
    (cc(RXNORM, "723", "amoxicillin", "Amoxicillin"), "medication"),
    (cc(RXNORM, "10180", "sulfamethoxazole", "Sulfa (sulfamethoxazole)"), "medication"),
    (cc(RXNORM, "1191", "aspirin", "Aspirin"), "medication"),
    (cc(RXNORM, "5640", "ibuprofen", "Ibuprofen"), "medication"),
    (cc(RXNORM, "7052", "morphine", "Morphine"), "medication"),
    (cc(RXNORM, "2670", "codeine", "Codeine"), "medication"),
    (cc(RXNORM, "2231", "cephalexin", "Cephalexin"), "medication"),
    (cc(RXNORM, "11124", "vancomycin", "Vancomycin"), "medication"),
    (cc(SNOMED, "111088007", "Latex (substance)", "Latex"), "environment"),
    (cc(SNOMED, "256349002", "Peanut - dietary (substance)", "Peanuts"), "food"),
    (cc(SNOMED, "102263004", "Eggs (edible) (substance)", "Eggs"), "food"),
    (cc(SNOMED, "288328004", "Bee venom (substance)", "Bee venom"), "environment"),
]
REACTIONS: list[tuple[JSON, str]] = [  # manifestation, usual severity
    (cc(SNOMED, "271807003", "Eruption of skin", "Rash"), "mild"),
    (cc(SNOMED, "126485001", "Urticaria", "Hives"), "moderate"),
    (cc(SNOMED, "39579001", "Anaphylaxis", "Anaphylaxis"), "severe"),
    (cc(SNOMED, "422587007", "Nausea", "Nausea"), "mild"),
    (cc(SNOMED, "422400008", "Vomiting", "Vomiting"), "mild"),
    (cc(SNOMED, "267036007", "Dyspnea", "Shortness of breath"), "severe"),
    (cc(SNOMED, "418290006", "Itching", "Itching"), "mild"),
    (cc(SNOMED, "41291007", "Angioedema", "Angioedema"), "severe"),
]

# ---- code status, flags ------------------------------------------------------------
CODE_STATUS_CODE = cc(LOINC, "100822-6", "Cardiopulmonary resuscitation orders", "Code status")
FULL_CODE = cc(SNOMED, "304252001", "For resuscitation", "Full code")
DNR = cc(SNOMED, "304253006", "Not for resuscitation", "DNR (do not resuscitate)")
DNI = cc(SNOMED, "450476008", "Not for intubation", "DNI (do not intubate)")
FLAG_SAFETY = [cc(FLAG_CATEGORY, "safety", "Safety")]
ISOLATION = [
    cc(SNOMED, "409524006", "Airborne precautions", "Airborne isolation"),
    cc(SNOMED, "409525007", "Contact precautions", "Contact isolation"),
    cc(SNOMED, "409526008", "Droplet precautions", "Droplet isolation"),
]
FALLS_RISK = cc(SNOMED, "129839007", "At risk for falls", "Falls risk")

# ---- roles and specialties ---------------------------------------------------------
ROLES = {
    "attending": cc(SNOMED, "309343006", "Physician", "Attending physician"),
    "surgeon": cc(SNOMED, "304292004", "Surgeon", "Surgeon"),
    "anesthesiologist": cc(SNOMED, "88189002", "Anesthesiologist", "Anesthesiologist"),
    "nurse": cc(SNOMED, "224535009", "Registered nurse", "Registered nurse"),
    "clinic": cc(SNOMED, "309343006", "Physician", "Clinic physician"),
}
SPECIALTY = {
    "medicine": cc(SNOMED, "419192003", "Internal medicine", "Internal medicine"),
    "critical": cc(SNOMED, "408478003", "Critical care medicine", "Critical care"),
    "cardiology": cc(SNOMED, "394579002", "Cardiology", "Cardiology"),
    "surgery": cc(SNOMED, "394609007", "General surgery", "General surgery"),
    "ortho": cc(SNOMED, "394801008", "Trauma and orthopedics", "Orthopedics"),
    "anesthesia": cc(SNOMED, "394577000", "Anesthetics", "Anesthesiology"),
    "pediatrics": cc(SNOMED, "394537008", "Pediatric specialty", "Pediatrics"),
    "obstetrics": cc(SNOMED, "394585009", "Obstetrics and gynecology", "Obstetrics"),
    "nursing": cc(SNOMED, "394802001", "General medicine", "Nursing"),
    "family": cc(SNOMED, "394814009", "General practice", "Family medicine"),
    "endocrinology": cc(SNOMED, "394583002", "Endocrinology", "Endocrinology"),
}

# ---- notes -------------------------------------------------------------------------
NOTE_TYPES = {
    "hp": cc(LOINC, "34117-2", "History and physical note", "History and physical"),
    "progress": cc(LOINC, "11506-3", "Progress note", "Progress note"),
    "discharge": cc(LOINC, "18842-5", "Discharge summary", "Discharge summary"),
}
NOTE_CATEGORY = [cc(DOC_CATEGORY, "clinical-note", "Clinical Note")]

# ---- orders and surgery ------------------------------------------------------------
SR_CATEGORY = {
    "lab": [cc(SNOMED, "108252007", "Laboratory procedure", "Laboratory")],
    "imaging": [cc(SNOMED, "363679005", "Imaging", "Imaging")],
    "surgery": [cc(SNOMED, "387713003", "Surgical procedure", "Surgery")],
    "diet": [text_cc("Diet")],
    "nursing": [text_cc("Nursing")],
}
LAB_ORDERS = [
    cc(LOINC, "58410-2", "CBC panel - Blood by Automated count", "CBC daily"),
    cc(LOINC, "51990-0", "Basic metabolic panel - Blood", "Basic metabolic panel daily"),
    cc(LOINC, "5902-2", "Prothrombin time (PT)", "PT/INR"),
]
IMAGING_ORDERS = [
    cc(SNOMED, "399208008", "Plain chest X-ray", "Chest X-ray"),
    cc(SNOMED, "303653007", "Computed tomography of head", "CT head without contrast"),
    cc(SNOMED, "40701008", "Echocardiography", "Transthoracic echocardiogram"),
]
ANESTHESIA = {
    "general": cc(SNOMED, "50697003", "General anesthesia", "General anesthesia"),
    "regional": text_cc("Regional anesthesia (spinal or nerve block)"),
    "mac": text_cc("Monitored anesthesia care (sedation)"),
}
SURGERY_CATEGORY = [cc(SNOMED, "387713003", "Surgical procedure", "Surgery")]
CLINIC_VISIT = [cc(SNOMED, "185389009", "Follow-up visit", "Follow-up visit")]
NEW_VISIT = [cc(SNOMED, "185345009", "Encounter for symptom", "New problem visit")]

# ---- categories --------------------------------------------------------------------
VITAL_CAT = [cc(OBS_CATEGORY, "vital-signs", "Vital Signs")]
LAB_CAT = [cc(OBS_CATEGORY, "laboratory", "Laboratory")]
SURVEY_CAT = [cc(OBS_CATEGORY, "survey", "Survey")]
PROBLEM_CAT = [cc(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
DIAGNOSIS_CAT = [cc(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]
ACTIVE = cc(CONDITION_CLINICAL, "active", "Active")
RESOLVED = cc(CONDITION_CLINICAL, "resolved", "Resolved")
CONFIRMED = cc(CONDITION_VER, "confirmed", "Confirmed")
ALLERGY_ACTIVE = cc(ALLERGY_CLINICAL, "active", "Active")
ALLERGY_CONFIRMED = cc(ALLERGY_VER, "confirmed", "Confirmed")
ALLERGY_UNCONFIRMED = cc(ALLERGY_VER, "unconfirmed", "Unconfirmed")
INTERP = {
    k: cc(INTERPRETATION, k, v)
    for k, v in {
        "N": "Normal",
        "H": "High",
        "L": "Low",
        "HH": "Critical high",
        "LL": "Critical low",
        "A": "Abnormal",
    }.items()
}
INTERP_LIST = {k: [v] for k, v in INTERP.items()}
INPATIENT_MED = [cc(MED_REQUEST_CATEGORY, "inpatient", "Inpatient")]
INPATIENT_ADMIN = cc(MED_ADMIN_CATEGORY, "inpatient", "Inpatient")


def visit_number(encounter_id: str) -> JSON:
    """The visit number of an Encounter (a function of its id, as an EHR's account number is
    of the visit)."""
    return {"use": "official", "type": VN_TYPE, "system": VISIT_SYSTEM, "value": encounter_id}


def placer_order_number(request_id: str) -> JSON:
    """The EHR's order number of a MedicationRequest (its id, in the EHR's namespace)."""
    return {"use": "official", "type": PLAC_TYPE, "system": PLACER_SYSTEM, "value": request_id}
