"""The patient flow of the change feed: discharges and transfers at the pace of the clock
(a stay lasts `MEAN_STAY_HOURS` on average), each discharged bed filled again by an
admission `TURNOVER_HOURS` later, and any shortfall below the census the feed first saw
filled at once — so occupancy stays where it started, hour after hour, at any change rate.
Who is admitted to which unit, with what, follows `plausibility`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from standby.sim.changes.census import JSON, Census, Stay, instant, ref
from standby.sim.generate import codes as c
from standby.sim.generate import plausibility as rules
from standby.sim.generate.people import FAMILY, FEMALE, MALE

MEAN_STAY_HOURS = 4 * 24.0
TRANSFERS_PER_STAY = 0.4
TURNOVER_HOURS = (0.5, 2.0)  # from a discharge to the next admission into the hospital
MAX_GAP_HOURS = 24.0  # a longer pause between steps counts as this long


class PatientFlow(Census):
    def _flow(self, now: datetime) -> list[list[JSON]]:
        """Admissions, transfers and discharges due between the last step and `now` (each
        a list of resources written together)."""
        if self._clock is None:
            self._clock = now
            self._target = len(self._inpatients())
            return []
        hours = min(MAX_GAP_HOURS, max(0.0, (now - self._clock).total_seconds() / 3600))
        self._clock = now
        out: list[list[JSON]] = []
        rng = self.rng
        stays = len(self._inpatients())
        for _ in range(self._count(stays * hours / MEAN_STAY_HOURS)):
            made = self._discharge(now)
            if made:
                out.append(made)
                wait = rng.uniform(*TURNOVER_HOURS)
                self._admissions.append(now + timedelta(hours=wait))
        for _ in range(self._count(stays * hours * TRANSFERS_PER_STAY / MEAN_STAY_HOURS)):
            made = self._transfer(now)
            if made:
                out.append(made)
        due = [t for t in self._admissions if t <= now]
        self._admissions = [t for t in self._admissions if t > now]
        short = self._target - len(self._inpatients()) - len(self._admissions) - len(due)
        for _ in range(len(due) + max(0, short)):
            made = self._admission(now)
            if made:
                out.append(made)
        return out

    def _count(self, mean: float) -> int:
        """How many of an event with this expected number happen (Poisson)."""
        limit, k, p = math.exp(-mean), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def _free_bed(self, moving_from: str | None = None) -> str | None:
        """A free bed; for a transfer, one in another unit for the same patients (adults
        stay among adult units; children and mothers are not moved)."""
        d = self._directory()
        taken = {s.bed for s in self._census}
        band = None
        if moving_from is not None:
            band = rules.unit_band(*d.units.get(moving_from, ("HU", "")))
            if band != rules.UNIT_PATIENTS["adult"]:
                return None
        free = [
            b
            for b, (_d, unit) in d.beds.items()
            if b not in taken
            and (
                moving_from is None
                or (unit != moving_from and rules.unit_band(*d.units.get(unit, ("HU", ""))) == band)
            )
        ]
        free.sort()
        return free[self.rng.randrange(len(free))] if free else None

    def _admission(self, now: datetime) -> list[JSON]:
        """A new Patient (of the ages and sex the unit and the diagnosis allow), an
        Encounter in a free bed with its reason, and an AllergyIntolerance."""
        rng = self.rng
        bed = self._free_bed()
        if bed is None:
            return []
        d = self._directory()
        display, unit = d.beds[bed]
        kind, unit_name = d.units.get(unit, ("HU", ""))
        pool = rules.admission_reasons(kind, unit_name)
        reason = rng.choices([x for x, _ in pool], [w for _, w in pool])[0]
        band = rules.admission_band(reason, rules.unit_band(kind, unit_name))
        gender = band.sex or ("female" if rng.random() < 0.5 else "male")
        days = rng.randrange(int(band.min_age * 365.25) + 2, int((band.max_age + 1) * 365.25) - 9)
        birth = now - timedelta(days=days)
        pid = self._new_id("pt")
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
        eid = self._new_id("enc")
        encounter: JSON = {
            "resourceType": "Encounter",
            "id": eid,
            "identifier": [c.visit_number(eid)],
            "status": "in-progress",
            "class": c.ENC_CLASS["IMP"],
            "subject": ref("Patient", pid),
            "period": {"start": instant(now)},
            "reasonCode": [reason],
            "location": [
                {
                    "location": {"reference": f"Location/{bed}", "display": display},
                    "status": "active",
                    "period": {"start": instant(now)},
                }
            ],
        }
        attending = self._staff(unit, "attending")
        if attending:
            encounter["participant"] = [
                {"type": c.ATTENDER, "individual": ref("Practitioner", attending)}
            ]
        allergy: JSON = {
            "resourceType": "AllergyIntolerance",
            "id": self._new_id("al"),
            "clinicalStatus": c.ALLERGY_ACTIVE,
            "verificationStatus": c.ALLERGY_CONFIRMED,
            "patient": ref("Patient", pid),
            "recordedDate": instant(now),
        }
        if rng.random() < 0.5:
            allergy["code"] = c.NKA
        else:
            allergens = rules.allergens_for(band.min_age)
            substance, category = allergens[rng.randrange(len(allergens))]
            manifestation, severity = c.REACTIONS[rng.randrange(len(c.REACTIONS))]
            allergy.update(
                type="allergy",
                category=[category],
                criticality="high" if severity == "severe" else "low",
                code=substance,
                reaction=[{"manifestation": [manifestation], "severity": severity}],
            )
        self._census.append(Stay(eid, pid, bed, "IMP", str(reason["text"])))
        return [patient, encounter, allergy]

    def _current(self, stay: Stay) -> JSON | None:
        sr = self.store.read("Encounter", stay.encounter)
        if sr is None or sr.deleted:
            self._census.remove(stay)
            return None
        enc = sr.json()
        enc.pop("meta", None)
        return enc

    def _leaver(self) -> Stay | None:
        stays = self._inpatients()
        return stays[self.rng.randrange(len(stays))] if stays else None

    def _transfer(self, now: datetime) -> list[JSON]:
        stay = self._leaver()
        if stay is None:
            return []
        unit = self._directory().beds.get(stay.bed, ("", ""))[1]
        bed = self._free_bed(moving_from=unit)
        enc = self._current(stay) if bed else None
        if bed is None or enc is None:
            return []
        at = instant(now)
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
        stay = self._leaver()
        enc = self._current(stay) if stay else None
        if stay is None or enc is None:
            return []
        at = instant(now)
        enc["status"] = "finished"
        enc.setdefault("period", {})["end"] = at
        for loc in enc.get("location") or []:
            if loc.get("status") == "active":
                loc["status"] = "completed"
                loc.setdefault("period", {})["end"] = at
        self._census.remove(stay)
        self._orders.pop(stay.encounter, None)
        return [enc]
