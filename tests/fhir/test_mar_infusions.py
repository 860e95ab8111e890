"""Continuous infusions (rate, last rate change, titration), PRN intervals and "next
allowed", and administration statuses in nurses' words."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest

from standby.fhir.infusion import interval_text, rate_text, slots_per_day
from standby.fhir.mar import administration, medication, medication_administration_record
from standby.fhir.summary import patient_summary
from support.mar_fixtures import ALBUTEROL, NOW, compartment

TGZ = Path(__file__).resolve().parents[2] / ".cache" / "hl7.fhir.r4.examples-4.0.1.tgz"


def _mar():
    return patient_summary(compartment(), NOW).mar


def test_heparin_drip_shows_current_rate_last_change_and_titration():
    drip = next(e for e in _mar().infusions if e.medication.id == "heparin")
    inf = drip.infusion
    assert inf is not None and drip.medication.continuous
    assert inf.ordered_rate == "1000 units/h"
    assert inf.current_rate == "1200 units/h" and inf.documented
    assert inf.last_change is not None
    assert inf.last_change.when == NOW - timedelta(hours=2, minutes=45)  # Mon 00:15
    assert inf.last_change.rate == "1200 units/h"
    assert "Titrate by anti-Xa every 6 hours per protocol" in inf.titration
    assert "Hold for 1 h and call if anti-Xa above 1.0" in inf.titration


def test_norepinephrine_rate_ratio_without_administrations_is_the_ordered_rate():
    drip = next(e for e in _mar().infusions if e.medication.id == "norepi")
    inf = drip.infusion
    assert inf is not None
    assert inf.current_rate == inf.ordered_rate == "2 mcg/min"
    assert not inf.documented and inf.last_change is None
    assert "MAP >= 65" in inf.titration


def test_infusions_are_not_scheduled_doses_or_prn():
    mar = _mar()
    assert {e.medication.id for e in mar.infusions} == {"heparin", "norepi"}
    assert "heparin" not in {e.medication.id for e in mar.scheduled + mar.prn}


def test_prn_interval_and_next_allowed_from_the_last_dose():
    e = next(e for e in _mar().prn if e.medication.id == "albuterol")
    assert e.medication.min_interval == timedelta(hours=4)
    assert e.medication.interval == "every 4 h at most"
    assert e.next_allowed == NOW + timedelta(minutes=10)  # given Sun 23:10: Mon 03:10
    assert slots_per_day(e.medication.min_interval) == 6


def test_prn_interval_from_a_code_alone_and_unknown():
    q6 = dict(ALBUTEROL)
    q6["dosageInstruction"] = [
        {"asNeededBoolean": True, "timing": {"code": {"coding": [{"code": "Q6H"}]}}}
    ]
    assert medication(q6).min_interval == timedelta(hours=6)
    bare = dict(ALBUTEROL)
    bare["dosageInstruction"] = [{"asNeededBoolean": True}]
    m = medication(bare)
    assert m.min_interval is None and m.interval == ""
    assert slots_per_day(None) == 4
    assert interval_text(timedelta(minutes=30)) == "every 30 min at most"


def test_statuses_read_as_nurses_say_them():
    mar = _mar()
    by_id = {a.id: a for a in mar.recent}
    assert by_id["met-20"].status_text == "given"
    assert by_id["hep-3"].status_text == "running"
    assert administration({"id": "x", "status": "not-done", "effectiveDateTime": "2026-11-30"})
    nd = administration({"id": "x", "status": "not-done", "effectiveDateTime": "2026-11-30"})
    assert nd is not None and nd.status_text == "NOT GIVEN"


def _example(name: str) -> dict:
    if not TGZ.exists():
        pytest.skip("the FHIR R4 examples package is not in .cache (make setup fetches it)")
    with tarfile.open(TGZ) as tar:
        f = tar.extractfile(f"package/{name}.json")
        assert f is not None
        return json.load(io.TextIOWrapper(f, "utf-8"))


def test_official_examples_dopamine_drip_and_rate_ratio_administration():
    dopamine = _example("MedicationRequest-medrx0336")
    dopamine["status"] = "active"  # the example order is completed
    m = medication(dopamine)
    assert m.continuous and m.rate == "4 mcg/kg/min" and m.frequency == "continuous"
    mar = medication_administration_record([dopamine], [], NOW)
    assert [e.medication.id for e in mar.infusions] == ["medrx0336"]
    kcl = administration(_example("MedicationAdministration-medadmin0302"))
    assert kcl is not None and kcl.rate == "100 mL/h"
    # a rate on a scheduled order is an intermittent dose, not a drip
    cycles = _example("MedicationRequest-medrx0316")
    assert not medication(cycles).continuous
    assert rate_text(cycles["dosageInstruction"][0]["doseAndRate"][0]) == "1.8 mg/kg over 20 min"
