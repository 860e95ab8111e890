"""The simulated EHR's live change feed (issue 2, section 4: "a live change feed").

`ChangeFeed(store, seed).step(n, now)` returns `n` new or updated FHIR resources for the
server to write with `store.update(...)` (their `meta` is left for the store to assign):
mostly new vital signs and labs for current inpatients, then medication administrations,
and now and then an admission (a new Patient and Encounter in a free bed), a transfer (the
Encounter moves bed), a discharge (the Encounter is finished), a new clinic appointment
or a rescheduled one. Shapes follow docs/data-model.md, as the generator's do.

State kept between steps is small: the census (encounter, patient, bed), the bed and
staff directory read once from the store, and a few cached medication orders. The census
is re-read from the store every `REFRESH_STEPS` steps so that changes made by others
(back-entry, tests) are seen.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.sim.generate import codes as c
from standby.sim.generate.observations import BP_PANEL, DIASTOLIC, LABS, RANGES, SYSTOLIC, VITALS
from standby.sim.generate.people import FAMILY, FEMALE, MALE
from standby.store.base import Store

JSON = dict[str, Any]
REFRESH_STEPS = 100
ORDER_CACHE = 256

# (kind, weight, resources it makes)
EVENTS: list[tuple[str, int, int]] = [
    ("vitals", 52, 1),
    ("lab", 16, 1),
    ("administration", 20, 1),
    ("admission", 3, 3),
    ("transfer", 2, 1),
    ("discharge", 3, 1),
    ("appointment", 2, 1),
    ("reschedule", 2, 1),
]


def _instant(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(rtype: str, id: str) -> JSON:
    return {"reference": f"{rtype}/{id}"}


def _ref_id(reference: Any, rtype: str) -> str | None:
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


@dataclass
class Directory:
    beds: dict[str, tuple[str, str]] = field(default_factory=dict)  # bed → (display, unit)
    staff: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # loc → [(id, role)]
    clinics: list[tuple[str, str]] = field(default_factory=list)  # (Location id, name)


class ChangeFeed:
    """Makes the changes a busy hospital's EHR would record, against `store`'s census."""

    def __init__(self, store: Store, seed: int) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self._dir: Directory | None = None
        self._census: list[Stay] = []
        self._steps = 0
        self._token: str | None = None
        self._n = 0
        self._orders: dict[str, list[JSON]] = {}

    # ---- reading the store ---------------------------------------------------------
    def _directory(self) -> Directory:
        if self._dir is not None:
            return self._dir
        d = Directory()
        locs = {sr.id: sr.json() for sr in self.store.iter_type("Location")}
        for lid, loc in locs.items():
            ptype = ((loc.get("physicalType") or {}).get("coding") or [{}])[0].get("code")
            kinds = [x.get("code") for t in loc.get("type") or [] for x in t.get("coding") or []]
            if ptype == "bd":
                room = locs.get(_ref_id(loc.get("partOf"), "Location") or "", {})
                unit = _ref_id(room.get("partOf"), "Location") or ""
                if unit != "loc-ed":
                    d.beds[lid] = (str(loc.get("name") or lid), unit)
            elif ptype == "wi" and "OF" in kinds:
                d.clinics.append((lid, str(loc.get("name") or lid)))
        for sr in self.store.iter_type("PractitionerRole"):
            role = sr.json()
            pid = _ref_id(role.get("practitioner"), "Practitioner")
            text = " ".join(str(cc.get("text") or "") for cc in role.get("code") or []).lower()
            for loc in role.get("location") or []:
                where = _ref_id(loc, "Location")
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
                        _ref_id(x.get("location"), "Location")
                        for x in enc.get("location") or []
                        if x.get("status") == "active"
                    ),
                    None,
                )
                patient = _ref_id(enc.get("subject"), "Patient")
                if bed and patient:
                    cls = str((enc.get("class") or {}).get("code") or "IMP")
                    census.append(Stay(sr.id, patient, bed, cls))
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

    # ---- the feed --------------------------------------------------------------------
    def step(self, n: int, now: datetime) -> list[JSON]:
        """`n` new or updated resources as of `now` (no `meta`: the store assigns it)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        if self._token is None:
            self._token = format(int(now.timestamp()), "x")
        if self._steps % REFRESH_STEPS == 0:
            self._refresh_census()
        self._steps += 1
        out: list[JSON] = []
        makers: dict[str, Callable[[datetime], list[JSON]]] = {
            "vitals": self._vitals,
            "lab": self._lab,
            "administration": self._administration,
            "admission": self._admission,
            "transfer": self._transfer,
            "discharge": self._discharge,
            "appointment": self._appointment,
            "reschedule": self._reschedule,
        }
        weights = [w for _k, w, _n in EVENTS]
        guard = 0
        while len(out) < n and guard < n * 20:
            guard += 1
            kind, _w, size = self.rng.choices(EVENTS, weights)[0]
            if size > n - len(out):
                continue
            out.extend(makers[kind](now))
        return out

    def _inpatient(self) -> Stay | None:
        stays = [s for s in self._census if s.cls == "IMP"] or self._census
        return stays[self.rng.randrange(len(stays))] if stays else None

    def _observation(self, stay: Stay, when: datetime, category: list[JSON], code: JSON) -> JSON:
        return {
            "resourceType": "Observation",
            "id": self._new_id("obs"),
            "status": "final",
            "category": category,
            "code": code,
            "subject": _ref("Patient", stay.patient),
            "encounter": _ref("Encounter", stay.encounter),
            "effectiveDateTime": _instant(when),
        }

    def _vitals(self, now: datetime) -> list[JSON]:
        stay = self._inpatient()
        if stay is None:
            return []
        rng = self.rng
        when = now - timedelta(seconds=rng.randrange(0, 600))
        keys = [*VITALS, "bp"]
        key = keys[rng.randrange(len(keys))]
        if key == "bp":
            obs = self._observation(stay, when, c.VITAL_CAT, BP_PANEL)
            systolic = round(rng.gauss(128, 16))
            obs["component"] = [
                {"code": SYSTOLIC, "valueQuantity": _mmhg(systolic)},
                {"code": DIASTOLIC, "valueQuantity": _mmhg(round(systolic * 0.6))},
            ]
            return [obs]
        code, unit, ucum, mean, sd, dec, lo, hi = VITALS[key]
        v = min(hi, max(lo, rng.gauss(mean, sd)))
        obs = self._observation(stay, when, c.VITAL_CAT, code)
        obs["valueQuantity"] = {
            "value": round(v, dec) if dec else round(v),
            "unit": unit,
            "system": c.UCUM,
            "code": ucum,
        }
        return [obs]

    def _lab(self, now: datetime) -> list[JSON]:
        stay = self._inpatient()
        if stay is None:
            return []
        rng = self.rng
        i = rng.randrange(len(LABS))
        code, unit, lo, hi, mean, sd, dec = LABS[i]
        v = max(lo * 0.3, mean + rng.gauss(0, 1.1) * sd * 1.5)
        value = round(v, dec) if dec else round(v)
        flag = "L" if value < lo else "H" if value > hi else "N"
        obs = self._observation(stay, now - timedelta(hours=1), c.LAB_CAT, code)
        obs["issued"] = _instant(now)
        obs["valueQuantity"] = {"value": value, "unit": unit, "system": c.UCUM, "code": unit}
        obs["interpretation"] = c.INTERP_LIST[flag]
        obs["referenceRange"] = RANGES[i]
        return [obs]

    def _active_orders(self, stay: Stay) -> list[JSON]:
        cached = self._orders.get(stay.encounter)
        if cached is None:
            try:
                page = self.store.search(
                    "MedicationRequest",
                    [("encounter", f"Encounter/{stay.encounter}"), ("status", "active")],
                    count=50,
                )
                cached = [sr.json() for sr in page.resources]
            except ValueError:
                cached = []
            if len(self._orders) >= ORDER_CACHE:
                self._orders.pop(next(iter(self._orders)))
            self._orders[stay.encounter] = cached
        return cached

    def _administration(self, now: datetime) -> list[JSON]:
        stay = self._inpatient()
        if stay is None:
            return self._vitals(now)
        orders = self._active_orders(stay)
        if not orders:
            return self._vitals(now)
        mr = orders[self.rng.randrange(len(orders))]
        dosage = (mr.get("dosageInstruction") or [{}])[0]
        unit = self._directory().beds.get(stay.bed, ("", ""))[1]
        nurse = self._staff(unit, "nurse")
        ma: JSON = {
            "resourceType": "MedicationAdministration",
            "id": self._new_id("ma"),
            "status": "completed",
            "category": c.INPATIENT_ADMIN,
            "medicationCodeableConcept": mr.get("medicationCodeableConcept")
            or {"text": "medication"},
            "subject": _ref("Patient", stay.patient),
            "context": _ref("Encounter", stay.encounter),
            "effectiveDateTime": _instant(now - timedelta(seconds=self.rng.randrange(0, 900))),
            "request": _ref("MedicationRequest", str(mr.get("id"))),
        }
        if nurse:
            ma["performer"] = [{"actor": _ref("Practitioner", nurse)}]
        dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity")
        admin_dosage = {k: v for k, v in (("route", dosage.get("route")), ("dose", dose)) if v}
        if admin_dosage:
            ma["dosage"] = admin_dosage
        return [ma]

    def _free_bed(self, exclude_unit: str | None = None) -> str | None:
        taken = {s.bed for s in self._census}
        free = [
            b
            for b, (_d, unit) in self._directory().beds.items()
            if b not in taken and unit != exclude_unit
        ]
        free.sort()
        return free[self.rng.randrange(len(free))] if free else None

    def _admission(self, now: datetime) -> list[JSON]:
        rng = self.rng
        bed = self._free_bed()
        if bed is None:
            return self._discharge(now)
        display, unit = self._directory().beds[bed]
        gender = "female" if rng.random() < 0.5 else "male"
        pid = self._new_id("pt")
        birth = now - timedelta(days=rng.randrange(18 * 365, 95 * 365))
        patient: JSON = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [
                {
                    "use": "usual",
                    "type": c.MRN_TYPE,
                    "system": c.MRN_SYSTEM,
                    "value": f"9{rng.randrange(10_000_000, 99_999_999)}",
                }
            ],
            "active": True,
            "name": [
                {
                    "use": "official",
                    "family": rng.choice(FAMILY),
                    "given": [rng.choice(FEMALE if gender == "female" else MALE)],
                }
            ],
            "telecom": [
                {
                    "system": "phone",
                    "value": f"+1-217-555-{rng.randrange(1000, 9999)}",
                    "use": "mobile",
                }
            ],
            "gender": gender,
            "birthDate": birth.strftime("%Y-%m-%d"),
        }
        reason = c.ADMISSION_DX[rng.randrange(len(c.ADMISSION_DX) - 2)][0]
        eid = self._new_id("enc")
        encounter: JSON = {
            "resourceType": "Encounter",
            "id": eid,
            "status": "in-progress",
            "class": c.ENC_CLASS["IMP"],
            "subject": _ref("Patient", pid),
            "period": {"start": _instant(now)},
            "reasonCode": [reason],
            "location": [
                {
                    "location": {"reference": f"Location/{bed}", "display": display},
                    "status": "active",
                    "period": {"start": _instant(now)},
                }
            ],
        }
        attending = self._staff(unit, "attending")
        if attending:
            encounter["participant"] = [
                {"type": c.ATTENDER, "individual": _ref("Practitioner", attending)}
            ]
        allergy: JSON = {
            "resourceType": "AllergyIntolerance",
            "id": self._new_id("al"),
            "clinicalStatus": c.ALLERGY_ACTIVE,
            "verificationStatus": c.ALLERGY_CONFIRMED,
            "patient": _ref("Patient", pid),
            "recordedDate": _instant(now),
        }
        if rng.random() < 0.5:
            allergy["code"] = c.NKA
        else:
            substance, category = c.ALLERGENS[rng.randrange(len(c.ALLERGENS))]
            manifestation, severity = c.REACTIONS[rng.randrange(len(c.REACTIONS))]
            allergy.update(
                type="allergy",
                category=[category],
                criticality="high" if severity == "severe" else "low",
                code=substance,
                reaction=[{"manifestation": [manifestation], "severity": severity}],
            )
        self._census.append(Stay(eid, pid, bed, "IMP"))
        return [patient, encounter, allergy]

    def _current(self, stay: Stay) -> JSON | None:
        sr = self.store.read("Encounter", stay.encounter)
        if sr is None or sr.deleted:
            self._census.remove(stay)
            return None
        enc = sr.json()
        enc.pop("meta", None)
        return enc

    def _transfer(self, now: datetime) -> list[JSON]:
        stay = self._inpatient()
        if stay is None:
            return self._vitals(now)
        unit = self._directory().beds.get(stay.bed, ("", ""))[1]
        bed = self._free_bed(exclude_unit=unit)
        enc = self._current(stay) if bed else None
        if bed is None or enc is None:
            return self._vitals(now)
        at = _instant(now)
        for loc in enc.get("location") or []:
            if loc.get("status") == "active":
                loc["status"] = "completed"
                loc.setdefault("period", {})["end"] = at
        display = self._directory().beds[bed][0]
        enc.setdefault("location", []).append(
            {
                "location": {"reference": f"Location/{bed}", "display": display},
                "status": "active",
                "period": {"start": at},
            }
        )
        stay.bed = bed
        return [enc]

    def _discharge(self, now: datetime) -> list[JSON]:
        stay = self._inpatient()
        enc = self._current(stay) if stay else None
        if stay is None or enc is None:
            return self._vitals(now) if self._census else []
        at = _instant(now)
        enc["status"] = "finished"
        enc.setdefault("period", {})["end"] = at
        for loc in enc.get("location") or []:
            if loc.get("status") == "active":
                loc["status"] = "completed"
                loc.setdefault("period", {})["end"] = at
        self._census.remove(stay)
        self._orders.pop(stay.encounter, None)
        return [enc]

    def _appointment(self, now: datetime) -> list[JSON]:
        d = self._directory()
        if not d.clinics or not self._census:
            return self._vitals(now)
        rng = self.rng
        clinic, name = d.clinics[rng.randrange(len(d.clinics))]
        doctor = self._staff(clinic, "")
        day = (now + timedelta(days=rng.randrange(1, 8))).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        start = day + timedelta(minutes=30 * rng.randrange(0, 17))
        patient = self._census[rng.randrange(len(self._census))].patient
        participants = [
            {"actor": _ref("Patient", patient), "required": "required", "status": "accepted"},
            {"actor": _ref("Location", clinic), "required": "required", "status": "accepted"},
        ]
        if doctor:
            participants.insert(
                1,
                {
                    "actor": _ref("Practitioner", doctor),
                    "required": "required",
                    "status": "accepted",
                },
            )
        return [
            {
                "resourceType": "Appointment",
                "id": self._new_id("ap"),
                "status": "booked",
                "serviceType": c.CLINIC_VISIT,
                "description": f"{name} visit",
                "start": _instant(start),
                "end": _instant(start + timedelta(minutes=30)),
                "minutesDuration": 30,
                "created": _instant(now),
                "participant": participants,
            }
        ]

    def _reschedule(self, now: datetime) -> list[JSON]:
        try:
            page = self.store.search(
                "Appointment",
                [("date", f"ge{_instant(now + timedelta(days=1))}"), ("status", "booked")],
                count=50,
            )
        except ValueError:
            return self._vitals(now)
        if not page.resources:
            return self._vitals(now)
        appt = page.resources[self.rng.randrange(len(page.resources))].json()
        appt.pop("meta", None)
        shift = timedelta(days=self.rng.randrange(1, 8))
        for key in ("start", "end"):
            if appt.get(key):
                t = datetime.fromisoformat(str(appt[key]).replace("Z", "+00:00"))
                appt[key] = _instant(t + shift)
        appt.pop("slot", None)  # the old slot no longer holds it
        appt["comment"] = (str(appt.get("comment") or "") + " Rescheduled.").strip()
        return [appt]


def _mmhg(v: int) -> JSON:
    return {"value": v, "unit": "mm[Hg]", "system": c.UCUM, "code": "mm[Hg]"}
