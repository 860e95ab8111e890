"""standby.clinical.summary: the one builder of a patient's summary, with the keys it
depends on and when it expires; the patient's identity read before the summary."""

from __future__ import annotations

from datetime import timedelta

from standby import clinical
from standby.fhir.census import DUE_HOURS
from standby.fhir.mar import next_change
from support.reports_support import NOW


def test_build_summary_returns_what_a_cache_needs(hospital):
    unit = clinical.units(hospital)[0]
    pid = clinical.unit_census(hospital, unit.id, NOW).patients[0].id
    read = clinical.build_summary(hospital, pid, NOW)
    assert read is not None
    assert read.summary == clinical.patient_summary(hospital, pid, NOW)
    compartment = {f"{sr.resource_type}/{sr.id}" for sr in hospital.compartment(pid)}
    assert compartment <= read.keys
    assert f"Location/{read.summary.header.unit_id}" in read.keys
    assert read.expires == next_change(read.summary.mar)
    assert read.bed == read.summary.header.bed_id
    row = clinical.build_summary(hospital, pid, NOW, extent=clinical.Extent.CENSUS_ROW)
    assert row is not None and row.keys <= read.keys
    assert row.expires == next_change(row.summary.mar, (timedelta(hours=DUE_HOURS),))
    assert clinical.build_summary(hospital, "no-such-patient", NOW) is None


def test_the_identity_read_before_the_summary_agrees_with_its_header(hospital):
    for unit in clinical.units(hospital):
        for p in clinical.unit_census(hospital, unit.id, NOW).patients[:5]:
            got = clinical.patient_identity(hospital, p.id, NOW)
            h = clinical.patient_summary(hospital, p.id, NOW).header
            assert got is not None
            assert got.identity == clinical.PatientIdentity(
                h.patient_id, h.name, h.dob, h.mrn, h.location, h.unit_id
            )
            assert got.identity.unit_id == unit.id
            assert f"Patient/{p.id}" in got.keys
    assert clinical.patient_identity(hospital, "no-such-patient", NOW) is None
