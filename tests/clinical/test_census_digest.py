"""The census read from the patient digest (`standby.store.digest.census_resources`) shows
exactly what the census built from each patient's compartment showed, at any time of day
(the digest stores what the clock cannot change; what is due is computed at read time)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from standby import clinical
from standby.clinical.directory import directory
from standby.store import digest
from support.reports_support import NOW


@pytest.mark.parametrize("hours", [0, 3, 17, -30, 50])
def test_census_from_the_digest_equals_the_census_from_compartments(hospital, hours):
    now = NOW + timedelta(hours=hours)
    assert hospital.keeps_digest
    try:
        for unit in clinical.units(hospital):
            from_digest = clinical.unit_census(hospital, unit.id, now)
            hospital.keeps_digest = False  # this store object only: the reads of before
            from_compartments = clinical.unit_census(hospital, unit.id, now)
            hospital.keeps_digest = True
            assert from_digest == from_compartments
            assert from_digest.patients  # a census with patients was compared
            # and it was read from the digest: one read names every patient on the unit
            read = digest.census_resources(hospital, directory(hospital).subtree(unit.id), now)
            assert read is not None
            assert set(read) == {p.id for p in from_digest.patients}
    finally:
        hospital.keeps_digest = True
