"""The synthetic hospital is clinically plausible: every patient of a few generated
hospitals follows the rules of `standby.sim.generate.plausibility` (procedures and clinics
by age, sex and diagnosis; no weekend clinics; one drug per class; no drug an allergy or a
diagnosis rules out; diets and nursing orders that fit the diagnoses; notes that name only
ordered drugs)."""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.sim.generate import generate_hospital
from standby.sim.generate import plausibility as rules
from standby.sim.generate.infusions import CODE_OF, DRIPS
from standby.sim.generate.medications import MEDS

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
KEY_OF = {str(m.concept["coding"][0]["code"]): k for k, m in MEDS.items()} | CODE_OF
PROCEDURE_OF = {str(p.concept["coding"][0]["code"]): p for p in rules.PROCEDURES}
DRUG_NAMES = {str(m.concept["text"]).split()[0].lower() for m in MEDS.values()}

Data = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module", params=[(150, 1), (60, 2), (60, 3)], ids=lambda p: f"{p}")
def data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Data:
    beds, seed = request.param
    out = tmp_path_factory.mktemp(f"plausible{seed}")
    counts = generate_hospital(beds, seed, out, now=NOW)
    everything: Data = {}
    for rtype in counts:
        with (out / f"{rtype}.ndjson").open("rb") as fh:
            everything[rtype] = {r["id"]: r for r in map(orjson.loads, fh)}
    return everything


def _id(reference: dict[str, Any]) -> str:
    return str(reference["reference"]).split("/")[1]


def _age(patient: dict[str, Any], when: str) -> int:
    b = date.fromisoformat(patient["birthDate"])
    d = date.fromisoformat(when[:10])
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _problems(data: Data) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for cond in data["Condition"].values():
        if cond["clinicalStatus"]["coding"][0]["code"] == "active":
            out[_id(cond["subject"])].add(cond["code"]["text"])
    return out


def test_surgery_fits_age_sex_and_an_indication(data: Data) -> None:
    problems = _problems(data)
    cases = [a for a in data["Appointment"].values() if "basedOn" in a]
    assert cases
    for a in cases:
        proc = PROCEDURE_OF[a["serviceType"][0]["coding"][0]["code"]]
        patient = data["Patient"][_id(a["participant"][0]["actor"])]
        assert proc.who.fits(_age(patient, a["start"]), patient["gender"]), (a["id"], proc)
        sr = data["ServiceRequest"][_id(a["basedOn"][0])]
        why = sr["reasonCode"][0]["text"]
        assert why in {i["text"] for i in proc.indications}, (a["id"], why)
        assert why in rules.SCREENING or why in problems[patient["id"]], (a["id"], why)


def test_clinic_visits_are_on_weekdays_for_patients_the_clinic_sees(data: Data) -> None:
    problems = _problems(data)
    visits = [a for a in data["Appointment"].values() if "basedOn" not in a]
    assert visits
    for a in visits:
        assert date.fromisoformat(a["start"][:10]).weekday() < 5, a["start"]
        clinic = rules.clinic_named(a["participant"][-1]["actor"]["display"])
        assert clinic is not None
        patient = data["Patient"][_id(a["participant"][0]["actor"])]
        assert clinic.who.fits(_age(patient, a["start"]), patient["gender"]), (a["id"], clinic)
        if clinic.problems:
            assert problems[patient["id"]] & set(clinic.problems), (a["id"], clinic.name)


def test_inpatients_fit_their_unit_and_diagnosis(data: Data) -> None:
    locs = data["Location"]
    for e in data["Encounter"].values():
        if e["status"] != "in-progress" or e["class"]["code"] != "IMP":
            continue
        bed = locs[_id(next(x for x in e["location"] if x["status"] == "active")["location"])]
        unit = locs[_id(locs[_id(bed["partOf"])]["partOf"])]
        kind = unit["type"][0]["coding"][0]["code"]
        band = rules.admission_band(e["reasonCode"][0], rules.unit_band(kind, unit["name"]))
        patient = data["Patient"][_id(e["subject"])]
        assert band.fits(_age(patient, NOW.isoformat()), patient["gender"]), e["id"]


def test_medications_one_per_class_none_ruled_out(data: Data) -> None:
    problems = _problems(data)
    allergens: dict[str, list[str]] = defaultdict(list)
    for a in data["AllergyIntolerance"].values():
        allergens[_id(a["patient"])].append(a["code"]["coding"][0]["code"])
    orders: dict[str, list[str]] = defaultdict(list)
    for mr in data["MedicationRequest"].values():
        orders[_id(mr["subject"])].append(
            KEY_OF[mr["medicationCodeableConcept"]["coding"][0]["code"]]
        )
    assert orders
    for pid, keys in orders.items():
        classes = [rules.MED_CLASS[k] for k in keys]
        assert len(classes) == len(set(classes)), (pid, keys)
        banned = rules.ruled_out_classes(allergens[pid], problems[pid])
        assert not banned & set(classes), (pid, keys, allergens[pid], problems[pid])
        age = _age(data["Patient"][pid], NOW.isoformat())
        for k in keys:
            assert rules.MED_AGE.get(k, rules.ADULT_ONLY).fits(age, ""), (pid, k, age)


def _unit_kind(data: Data, encounter: dict[str, Any]) -> str:
    locs = data["Location"]
    bed = locs[_id(next(x for x in encounter["location"] if x["status"] == "active")["location"])]
    return str(locs[_id(locs[_id(bed["partOf"])]["partOf"])]["type"][0]["coding"][0]["code"])


def test_drips_only_in_the_icu_with_an_indication(data: Data) -> None:
    problems = _problems(data)
    drips = [
        mr
        for mr in data["MedicationRequest"].values()
        if mr["medicationCodeableConcept"]["coding"][0]["code"] in CODE_OF
    ]
    assert drips
    for mr in drips:
        key = CODE_OF[mr["medicationCodeableConcept"]["coding"][0]["code"]]
        kind = _unit_kind(data, data["Encounter"][_id(mr["encounter"])])
        assert rules.drip_indicated(key, kind, problems[_id(mr["subject"])]), (mr["id"], key)
        dosage = mr["dosageInstruction"][0]
        assert "timing" not in dosage and "asNeededBoolean" not in dosage, mr["id"]
        rate = dosage["doseAndRate"][0]
        q = rate.get("rateQuantity") or rate["rateRatio"]["numerator"]
        assert q["system"] == "http://unitsofmeasure.org" and q["code"] == DRIPS[key].ucum
    for key in DRIPS:
        assert key in rules.MED_CLASS and key in rules.DRIP_INDICATIONS
    assert not rules.drip_indicated("norepinephrine_drip", "HU", {"Sepsis"})
    assert not rules.drip_indicated("insulin_drip", "ICU", {"Sepsis"})


def test_drip_rates_one_running_the_earlier_ones_completed(data: Data) -> None:
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ma in data["MedicationAdministration"].values():
        if "effectivePeriod" in ma:
            by_order[_id(ma["request"])].append(ma)
    assert by_order
    for order, rates in by_order.items():
        assert order in data["MedicationRequest"]
        rates.sort(key=lambda m: m["effectivePeriod"]["start"])
        assert [m["status"] for m in rates] == ["completed"] * (len(rates) - 1) + ["in-progress"]
        assert "end" not in rates[-1]["effectivePeriod"]
        for a, b in itertools.pairwise(rates):
            assert a["effectivePeriod"]["end"] == b["effectivePeriod"]["start"], order
            assert a["dosage"] != b["dosage"], order  # each one is a change of rate


def test_diets_and_nursing_orders_fit_the_diagnoses(data: Data) -> None:
    problems = _problems(data)
    needs = {str(d["text"]): set(n) for d, n in [*rules.DIETS, *rules.NURSING]}
    seen = set()
    for sr in data["ServiceRequest"].values():
        kind = sr["category"][0]["text"]
        if kind not in ("Diet", "Nursing"):
            continue
        text = sr["code"]["text"]
        seen.add(text)
        want = needs[text]
        assert not want or want & problems[_id(sr["subject"])], (sr["id"], text)
    assert "Consistent carbohydrate (diabetic) diet" in seen and "Regular diet" in seen


def test_notes_name_only_drugs_the_patient_is_ordered(data: Data) -> None:
    ordered: dict[str, str] = defaultdict(str)
    for mr in data["MedicationRequest"].values():
        ordered[_id(mr["subject"])] += " " + mr["medicationCodeableConcept"]["text"].lower()
    named = 0
    for doc in data["DocumentReference"].values():
        text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode().lower()
        for drug in DRUG_NAMES:
            if drug in text:
                named += 1
                assert drug in ordered[_id(doc["subject"])], (doc["id"], drug)
    assert named


def test_children_get_childrens_doses(data: Data) -> None:
    for mr in data["MedicationRequest"].values():
        patient = data["Patient"][_id(mr["subject"])]
        if _age(patient, NOW.isoformat()) < 18:
            key = KEY_OF[mr["medicationCodeableConcept"]["coding"][0]["code"]]
            dose = mr["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"]
            assert dose <= MEDS[key].dose, (mr["id"], key, dose)


def test_the_rules_are_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "synthetic-hospital.md").read_text()
    assert "plausibility.py" in doc
    for clinic in rules.CLINICS:
        assert clinic.name in doc
