"""The clinical read model: what the viewer and the downtime packets show, read once.

Why it exists: the clinician viewer (standby.web) and the PDF packets (standby.reports)
must show the same census, summary and schedules ("one place decides what a summary
contains"). The deciding is pure and lives in `standby.fhir.summary` (tested without I/O);
this package does the reading: one compartment lookup per patient (`build_summary`, the
one place that gathers a summary), the directory of Locations and Practitioners cached
per store, searches for patients and appointments, and the viewer's exact cache of what
it read (`read_cache`). Both UIs render what these functions return and decide nothing
themselves.

Imports only `standby.fhir` and `standby.store` (docs/architecture.md).
"""

from __future__ import annotations

from standby.clinical.census import Unit, unit_census, units
from standby.clinical.feed_results import received_in_downtime
from standby.clinical.patients import PatientMatch, find_patients
from standby.clinical.schedules import (
    Case,
    ClinicSchedule,
    OperatingRoom,
    ORSchedule,
    ProviderDay,
    Visit,
    clinic_schedule,
    or_schedule,
)
from standby.clinical.summary import (
    Extent,
    PatientIdentity,
    SummaryRead,
    build_summary,
    patient_identity,
    patient_summary,
)
from standby.fhir.census import Census, CensusBed, CensusPatient, DueDose
from standby.fhir.summary import AllergyStatus, PatientSummary, SectionStatus

__all__ = [
    "AllergyStatus",
    "Case",
    "Census",
    "CensusBed",
    "CensusPatient",
    "ClinicSchedule",
    "DueDose",
    "Extent",
    "ORSchedule",
    "OperatingRoom",
    "PatientIdentity",
    "PatientMatch",
    "PatientSummary",
    "ProviderDay",
    "SectionStatus",
    "SummaryRead",
    "Unit",
    "Visit",
    "build_summary",
    "clinic_schedule",
    "find_patients",
    "or_schedule",
    "patient_identity",
    "patient_summary",
    "received_in_downtime",
    "unit_census",
    "units",
]
