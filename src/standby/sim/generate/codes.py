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
NPI_TYPE = {
    "coding": [{"system": V2_0203, "code": "NPI", "display": "National provider identifier"}],
    "text": "NPI",
}


# ---- conditions (ICD-10-CM + SNOMED CT) --------------------------------------------
def _dx(icd: str, icd_d: str, sct: str, sct_d: str, text: str) -> JSON:
    return cc2(ICD10CM, icd, icd_d, SNOMED, sct, sct_d, text)


# Admission reasons: (concept, weight, typical unit kind, severity 0..2)
ADMISSION_DX: list[tuple[JSON, int, str]] = [
    (
        _dx("J18.9", "Pneumonia, unspecified organism", "233604007", "Pneumonia", "Pneumonia"),
        10,
        "HU",
    ),
    (
        _dx(
            "I50.9",
            "Heart failure, unspecified",
            "84114007",
            "Heart failure",
            "Heart failure exacerbation",
        ),
        8,
        "HU",
    ),
    (
        _dx(
            "J44.1",
            "Chronic obstructive pulmonary disease with (acute) exacerbation",
            "195951007",
            "Acute exacerbation of chronic obstructive airways disease",
            "COPD exacerbation",
        ),
        7,
        "HU",
    ),
    (_dx("A41.9", "Sepsis, unspecified organism", "91302008", "Sepsis", "Sepsis"), 6, "ICU"),
    (
        _dx(
            "N39.0",
            "Urinary tract infection, site not specified",
            "68566005",
            "Urinary tract infectious disease",
            "Urinary tract infection",
        ),
        6,
        "HU",
    ),
    (
        _dx(
            "L03.115",
            "Cellulitis of right lower limb",
            "128045006",
            "Cellulitis",
            "Cellulitis of right leg",
        ),
        5,
        "HU",
    ),
    (
        _dx(
            "I21.4",
            "Non-ST elevation (NSTEMI) myocardial infarction",
            "401314000",
            "Acute non-ST segment elevation myocardial infarction",
            "NSTEMI",
        ),
        4,
        "CCU",
    ),
    (
        _dx(
            "I63.9",
            "Cerebral infarction, unspecified",
            "432504007",
            "Cerebral infarction",
            "Acute ischemic stroke",
        ),
        4,
        "ICU",
    ),
    (
        _dx(
            "N17.9",
            "Acute kidney failure, unspecified",
            "14669001",
            "Acute renal failure syndrome",
            "Acute kidney injury",
        ),
        4,
        "HU",
    ),
    (
        _dx(
            "K85.90",
            "Acute pancreatitis without necrosis or infection, unspecified",
            "197456007",
            "Acute pancreatitis",
            "Acute pancreatitis",
        ),
        3,
        "HU",
    ),
    (
        _dx(
            "K92.2",
            "Gastrointestinal hemorrhage, unspecified",
            "74474003",
            "Gastrointestinal hemorrhage",
            "GI bleed",
        ),
        3,
        "ICU",
    ),
    (
        _dx(
            "I48.91",
            "Unspecified atrial fibrillation",
            "49436004",
            "Atrial fibrillation",
            "Atrial fibrillation with rapid ventricular response",
        ),
        4,
        "CCU",
    ),
    (
        _dx(
            "S72.001A",
            "Fracture of unspecified part of neck of right femur, initial encounter "
            "for closed fracture",
            "5913000",
            "Fracture of neck of femur",
            "Right hip fracture",
        ),
        4,
        "HU",
    ),
    (
        _dx(
            "K35.80",
            "Unspecified acute appendicitis",
            "85189001",
            "Acute appendicitis",
            "Acute appendicitis",
        ),
        3,
        "HU",
    ),
    (_dx("R07.9", "Chest pain, unspecified", "29857009", "Chest pain", "Chest pain"), 5, "HU"),
    (
        _dx(
            "E87.1", "Hypo-osmolality and hyponatremia", "89627008", "Hyponatremia", "Hyponatremia"
        ),
        2,
        "HU",
    ),
    (
        _dx(
            "J21.9", "Acute bronchiolitis, unspecified", "4120002", "Bronchiolitis", "Bronchiolitis"
        ),
        3,
        "PEDU",
    ),
    (
        _dx(
            "J45.901",
            "Unspecified asthma with (acute) exacerbation",
            "195967001",
            "Asthma",
            "Asthma exacerbation",
        ),
        3,
        "PEDU",
    ),
]

CHRONIC_DX: list[JSON] = [
    _dx(
        "I10",
        "Essential (primary) hypertension",
        "59621000",
        "Essential hypertension",
        "Hypertension",
    ),
    _dx(
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        "44054006",
        "Diabetes mellitus type 2",
        "Type 2 diabetes",
    ),
    _dx("E78.5", "Hyperlipidemia, unspecified", "55822004", "Hyperlipidemia", "Hyperlipidemia"),
    _dx(
        "N18.30",
        "Chronic kidney disease, stage 3 unspecified",
        "433144002",
        "Chronic kidney disease stage 3",
        "CKD stage 3",
    ),
    _dx("J45.909", "Unspecified asthma, uncomplicated", "195967001", "Asthma", "Asthma"),
    _dx(
        "F32.9",
        "Major depressive disorder, single episode, unspecified",
        "35489007",
        "Depressive disorder",
        "Depression",
    ),
    _dx(
        "G47.33",
        "Obstructive sleep apnea (adult) (pediatric)",
        "78275009",
        "Obstructive sleep apnea syndrome",
        "Obstructive sleep apnea",
    ),
    _dx(
        "M17.11",
        "Unilateral primary osteoarthritis, right knee",
        "239873007",
        "Osteoarthritis of knee",
        "Osteoarthritis, right knee",
    ),
    _dx(
        "I48.91",
        "Unspecified atrial fibrillation",
        "49436004",
        "Atrial fibrillation",
        "Atrial fibrillation",
    ),
    _dx(
        "I25.10",
        "Atherosclerotic heart disease of native coronary artery without angina pectoris",
        "53741008",
        "Coronary arteriosclerosis",
        "Coronary artery disease",
    ),
    _dx("E03.9", "Hypothyroidism, unspecified", "40930008", "Hypothyroidism", "Hypothyroidism"),
    _dx(
        "K21.9",
        "Gastro-esophageal reflux disease without esophagitis",
        "235595009",
        "Gastroesophageal reflux disease",
        "GERD",
    ),
    _dx(
        "J44.9",
        "Chronic obstructive pulmonary disease, unspecified",
        "13645005",
        "Chronic obstructive lung disease",
        "COPD",
    ),
    _dx("E66.9", "Obesity, unspecified", "414916001", "Obesity", "Obesity"),
]

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
DIET_ORDERS = [
    text_cc(t)
    for t in (
        "Regular diet",
        "Cardiac diet (2 g sodium)",
        "Consistent carbohydrate (diabetic) diet",
        "NPO after midnight",
        "Clear liquid diet",
        "Renal diet",
    )
]
NURSING_ORDERS = [
    text_cc(t)
    for t in (
        "Vital signs every 4 hours",
        "Strict intake and output",
        "Fall precautions",
        "Continuous telemetry monitoring",
        "Daily weight",
        "Incentive spirometry every hour while awake",
        "Blood glucose checks before meals and at bedtime",
    )
]

# (procedure, typical minutes, specialty, anesthesia)
PROCEDURES: list[tuple[JSON, int, str]] = [
    (cc(SNOMED, "80146002", "Appendectomy", "Appendectomy"), 60, "surgery"),
    (
        cc(SNOMED, "45595009", "Laparoscopic cholecystectomy", "Laparoscopic cholecystectomy"),
        90,
        "surgery",
    ),
    (cc(SNOMED, "609588000", "Total knee replacement", "Total knee replacement"), 120, "ortho"),
    (cc(SNOMED, "52734007", "Total replacement of hip", "Total hip replacement"), 120, "ortho"),
    (cc(SNOMED, "44558001", "Repair of inguinal hernia", "Inguinal hernia repair"), 75, "surgery"),
    (cc(SNOMED, "11466000", "Cesarean section", "Cesarean section"), 60, "obstetrics"),
    (cc(SNOMED, "232717009", "Coronary artery bypass grafting", "CABG"), 240, "surgery"),
    (cc(SNOMED, "73761001", "Colonoscopy", "Colonoscopy"), 45, "surgery"),
    (cc(SNOMED, "392021009", "Lumpectomy of breast", "Breast lumpectomy"), 90, "surgery"),
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
