"""Diagnoses of the synthetic hospital: ICD-10-CM with SNOMED CT (two codings, the ICD-10-CM
first), as docs/data-model.md reads them. Who may have which is decided in
`plausibility.py`; these tables only say what each diagnosis is called.
"""

from __future__ import annotations

from standby.sim.generate import codes as c
from standby.sim.generate.codes import JSON


def _dx(icd: str, icd_d: str, sct: str, sct_d: str, text: str) -> JSON:
    return c.cc2(c.ICD10CM, icd, icd_d, c.SNOMED, sct, sct_d, text)


# Admission reasons: (concept, weight, the kind of unit that takes them)
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
    (
        _dx(
            "K81.0", "Acute cholecystitis", "65275009", "Acute cholecystitis", "Acute cholecystitis"
        ),
        3,
        "HU",
    ),
    (
        _dx(
            "I26.99",
            "Other pulmonary embolism without acute cor pulmonale",
            "59282003",
            "Pulmonary embolism",
            "Pulmonary embolism",
        ),
        3,
        "ICU",
    ),
    (
        _dx(
            "E11.10",
            "Type 2 diabetes mellitus with ketoacidosis without coma",
            "420422005",
            "Ketoacidosis due to diabetes mellitus",
            "Diabetic ketoacidosis",
        ),
        3,
        "ICU",
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

# Indications for elective surgery, written on an outpatient's problem list.
GALLSTONES = _dx(
    "K80.20",
    "Calculus of gallbladder without cholecystitis without obstruction",
    "235919008",
    "Calculus of gallbladder",
    "Gallstones",
)
INGUINAL_HERNIA = _dx(
    "K40.90",
    "Unilateral inguinal hernia, without obstruction or gangrene, not specified as recurrent",
    "396232000",
    "Inguinal hernia",
    "Inguinal hernia",
)
HIP_OSTEOARTHRITIS = _dx(
    "M16.11",
    "Unilateral primary osteoarthritis, right hip",
    "239872002",
    "Osteoarthritis of hip",
    "Osteoarthritis, right hip",
)
BREAST_CANCER = _dx(
    "C50.911",
    "Malignant neoplasm of unspecified site of right female breast",
    "254837009",
    "Malignant neoplasm of breast",
    "Breast cancer, right",
)
BREECH = _dx(
    "O32.1XX0",
    "Maternal care for breech presentation, not applicable or unspecified",
    "6096002",
    "Breech presentation",
    "Breech presentation",
)
COLON_SCREENING = _dx(
    "Z12.11",
    "Encounter for screening for malignant neoplasm of colon",
    "275978004",
    "Screening for malignant neoplasm of colon",
    "Colon cancer screening",
)
INDICATIONS = [
    GALLSTONES,
    INGUINAL_HERNIA,
    HIP_OSTEOARTHRITIS,
    BREAST_CANCER,
    BREECH,
    COLON_SCREENING,
]
OB_DX = _dx(
    "O80",
    "Encounter for full-term uncomplicated delivery",
    "48782003",
    "Delivery normal",
    "Vaginal delivery",
)
ED_DX = [
    _dx("R07.9", "Chest pain, unspecified", "29857009", "Chest pain", "Chest pain"),
    _dx("R10.9", "Unspecified abdominal pain", "21522001", "Abdominal pain", "Abdominal pain"),
    _dx("R06.02", "Shortness of breath", "267036007", "Dyspnea", "Shortness of breath"),
    _dx("R51.9", "Headache, unspecified", "25064002", "Headache", "Headache"),
    _dx("R55", "Syncope and collapse", "271594007", "Syncope", "Syncope"),
]
