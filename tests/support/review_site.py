"""The review queue's site: the simulated EHR over real HTTP and a replica holding the same
patients (support.recovery_support), on a unit of the replica, with a journal whose first
back-entry run leaves one conflict (a transfer of an encounter the EHR changed since) and
one rejection (a transfer the EHR refuses), the other entries confirmed; and the viewer
over that replica with the EHR as its source.

Accounts (password PASSWORD): `him` (health-information, every unit), `charge`
(charge-nurse on the unit), `charge2` (charge-nurse on another unit), `nurse` (nurse on
the unit)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from standby.accounts import users
from standby.bench.backentry_journal import _Writer
from standby.journal.entries import Entry, Kind
from standby.recovery import state
from standby.recovery.state import Status
from standby.settings import Settings
from standby.web.app import create_app
from support.recovery_support import DOWNTIME_START, Site, make_site
from support.web_site import PASSWORD, Clock
from support.web_site import Site as WebSite

UNIT = "unit-4W"
OTHER_UNIT = "unit-5E"
PATIENTS = 3


@dataclass
class ReviewSite:
    ehr: Site
    web: WebSite
    conflict: Entry
    rejected: Entry
    confirmed: list[Entry]

    @property
    def store(self) -> Any:
        return self.ehr.replica

    def close(self) -> None:
        self.ehr.close()


def _locations(store: Any) -> None:
    """A ward of each unit, and one bed per patient on the first."""
    wards = [
        {
            "resourceType": "Location",
            "id": uid,
            "name": name,
            "alias": [alias],
            "physicalType": {"coding": [{"code": "wi"}]},
            "type": [{"coding": [{"code": "HU"}]}],
        }
        for uid, name, alias in ((UNIT, "4 West Medical", "4W"), (OTHER_UNIT, "5 East", "5E"))
    ]
    beds = [
        {
            "resourceType": "Location",
            "id": f"bed-{i}",
            "name": f"4W-{i}",
            "physicalType": {"coding": [{"code": "bd"}]},
            "partOf": {"reference": f"Location/{UNIT}"},
        }
        for i in range(PATIENTS)
    ]
    for r in [*wards, *beds]:
        store.update(r)


def make(tmp: Path, *, registration: bool = False) -> ReviewSite:
    w = _Writer(random.Random(7))
    at = DOWNTIME_START + timedelta(hours=1)
    conflict = w.entry(Kind.TRANSFER, "bp0", "be0", at, {"location_id": "bed-2"})
    ok0 = w.entry(
        Kind.VITALS, "bp0", "be0", at, {"heart_rate": 88, "systolic": 124, "diastolic": 76}
    )
    rejected = w.entry(Kind.TRANSFER, "bp1", "enc:1", at, {"location_id": "bed-0"})
    ok1 = w.entry(Kind.VITALS, "bp1", "be1", at, {"heart_rate": 72})
    entries = [conflict, ok0, rejected, ok1]
    if registration:  # a patient registered during the downtime, not matched yet: held
        reg = w.entry(
            Kind.REGISTRATION,
            "reg-0",
            None,
            at,
            {
                "family": "Doe",
                "given": "Trauma",
                "birth_date": "1990-01-01",
                "sex": "unknown",
                "mrn": "DT-0001",
                "encounter_number": "DE-0001",
            },
        )
        reg = dataclasses.replace(reg, patient_id=reg.id)
        entries += [reg, w.entry(Kind.VITALS, reg.id, None, at, {"heart_rate": 101})]
    site = make_site(tmp, patients=PATIENTS, entries=entries)
    _locations(site.replica)
    # the replica holds an encounter whose id the EHR will not take in a URL: rejected
    site.replica.update(
        {
            "resourceType": "Encounter",
            "id": "enc:1",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/bp1"},
        }
    )
    # someone changes be0 in the EHR after the clinician saw it: the transfer conflicts
    current = httpx.get(f"{site.base}/Encounter/be0").json()
    current["status"] = "onleave"
    current.pop("meta", None)
    assert httpx.put(f"{site.base}/Encounter/be0", json=current).status_code == 200
    site.run(decisions={})  # the registrar has decided nothing yet
    assert state.get(site.replica, conflict.id).status is Status.CONFLICT  # type: ignore[union-attr]
    assert state.get(site.replica, rejected.id).status is Status.REJECTED  # type: ignore[union-attr]
    clock = Clock()
    clock.now = DOWNTIME_START + timedelta(hours=30)
    settings = Settings(db=tmp / "replica.db", source_url=site.base, login_max_failures=50)
    app = create_app(settings, site.replica, clock=clock)
    for name, role, units in (
        ("him", "health-information", ["*"]),
        ("charge", "charge-nurse", [UNIT]),
        ("charge2", "charge-nurse", [OTHER_UNIT]),
        ("nurse", "nurse", [UNIT]),
    ):
        users.add_user(site.replica, name, PASSWORD, role=role, units=units)
    return ReviewSite(
        site, WebSite(app, site.replica, clock, settings), conflict, rejected, [ok0, ok1]
    )
