"""What the change feed knows of the hospital: the beds, units, clinics and staff (read
from the store once) and the census (re-read every `REFRESH_STEPS` steps, so that changes
made by others — back-entry, tests — are seen), plus ids for what it makes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from standby.store.base import Store

JSON = dict[str, Any]
REFRESH_STEPS = 100


def instant(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ref(rtype: str, id: str) -> JSON:
    return {"reference": f"{rtype}/{id}"}


def ref_id(reference: Any, rtype: str) -> str | None:
    if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
        head, _, tail = reference["reference"].rpartition("/")
        if head.endswith(rtype):
            return tail
    return None


@dataclass
class Stay:
    encounter: str
    patient: str
    bed: str
    cls: str
    reason: str = ""  # the admission reason's text


@dataclass
class Directory:
    beds: dict[str, tuple[str, str]] = field(default_factory=dict)  # bed → (display, unit)
    units: dict[str, tuple[str, str]] = field(default_factory=dict)  # unit → (kind, name)
    staff: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # loc → [(id, role)]
    clinics: list[tuple[str, str]] = field(default_factory=list)  # (Location id, name)


class Census:
    """The state every kind of change reads: the store, the one random source, the census."""

    def __init__(self, store: Store, seed: int, zone: tzinfo = UTC) -> None:
        self.store = store
        self.zone = zone  # the hospital's: scheduled doses are at its clock times
        self.rng = random.Random(seed)
        self._since: datetime | None = None  # the hour the feed started giving doses
        self._given: set[tuple[str, datetime]] = set()  # (order id, scheduled time)
        self._dir: Directory | None = None
        self._census: list[Stay] = []
        self._token: str | None = None
        self._n = 0
        self._unwritten: set[str] = set()  # encounters made but not yet handed out
        self._orders: dict[str, list[JSON]] = {}  # encounter → active MedicationRequests
        self._clock: datetime | None = None  # the last step's time
        self._target = 0  # the census the feed keeps (inpatients when it started)
        self._admissions: list[datetime] = []  # beds to fill again, and when

    def _directory(self) -> Directory:
        if self._dir is not None:
            return self._dir
        d = Directory()
        locs = {sr.id: sr.json() for sr in self.store.iter_type("Location")}
        for lid, loc in locs.items():
            ptype = ((loc.get("physicalType") or {}).get("coding") or [{}])[0].get("code")
            kinds = [x.get("code") for t in loc.get("type") or [] for x in t.get("coding") or []]
            if ptype == "bd":
                room = locs.get(ref_id(loc.get("partOf"), "Location") or "", {})
                unit = ref_id(room.get("partOf"), "Location") or ""
                if unit != "loc-ed":
                    d.beds[lid] = (str(loc.get("name") or lid), unit)
            elif ptype == "wi" and "OF" in kinds:
                d.clinics.append((lid, str(loc.get("name") or lid)))
            elif ptype == "wi":
                d.units[lid] = (str(kinds[0] if kinds else "HU"), str(loc.get("name") or lid))
        for sr in self.store.iter_type("PractitionerRole"):
            role = sr.json()
            pid = ref_id(role.get("practitioner"), "Practitioner")
            text = " ".join(str(cc.get("text") or "") for cc in role.get("code") or []).lower()
            for loc in role.get("location") or []:
                where = ref_id(loc, "Location")
                if pid and where:
                    d.staff.setdefault(where, []).append((pid, text))
        d.clinics.sort()
        self._dir = d
        return d

    def _refresh_census(self) -> None:
        census: list[Stay] = []
        offset = 0
        while True:
            page = self.store.search(
                "Encounter", [("status", "in-progress")], count=1000, offset=offset
            )
            for sr in page.resources:
                enc = sr.json()
                bed = next(
                    (
                        ref_id(x.get("location"), "Location")
                        for x in enc.get("location") or []
                        if x.get("status") == "active"
                    ),
                    None,
                )
                patient = ref_id(enc.get("subject"), "Patient")
                if bed and patient:
                    cls = str((enc.get("class") or {}).get("code") or "IMP")
                    reason = str(((enc.get("reasonCode") or [{}])[0]).get("text") or "")
                    census.append(Stay(sr.id, patient, bed, cls, reason))
            if len(page.resources) < 1000:
                break
            offset += 1000
        census.sort(key=lambda s: s.encounter)
        self._census = census

    def _new_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._token}-{self._n}"

    def _staff(self, loc: str, role: str) -> str | None:
        people = [p for p, text in self._directory().staff.get(loc, []) if role in text]
        return people[self.rng.randrange(len(people))] if people else None

    def _inpatients(self) -> list[Stay]:
        return [s for s in self._census if s.cls == "IMP" and s.encounter not in self._unwritten]

    def _inpatient(self) -> Stay | None:
        stays = self._inpatients() or [
            s for s in self._census if s.encounter not in self._unwritten
        ]
        return stays[self.rng.randrange(len(stays))] if stays else None
