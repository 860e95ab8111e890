"""The clinical side of the change feed: new vital signs, labs and medication
administrations for current inpatients (against their active orders), new clinic visits
for patients the clinic sees, on weekdays, and rescheduled ones (`plausibility` decides
who a clinic sees and when it is open)."""

from __future__ import annotations

from datetime import datetime, timedelta

from standby.sim.changes.census import JSON, Census, Stay, instant, ref
from standby.sim.changes.dose_times import last_scheduled
from standby.sim.generate import codes as c
from standby.sim.generate import plausibility as rules
from standby.sim.generate.infusions import CODE_OF, DRIPS, rate_administration, rate_value, titrate
from standby.sim.generate.observations import BP_PANEL, DIASTOLIC, LABS, RANGES, SYSTOLIC, VITALS

ORDER_CACHE = 256
GIVEN_KEPT = 20_000  # scheduled doses the feed remembers having given


class ClinicalEvents(Census):
    def _observation(self, stay: Stay, when: datetime, category: list[JSON], code: JSON) -> JSON:
        return {
            "resourceType": "Observation",
            "id": self._new_id("obs"),
            "status": "final",
            "category": category,
            "code": code,
            "subject": ref("Patient", stay.patient),
            "encounter": ref("Encounter", stay.encounter),
            "effectiveDateTime": instant(when),
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
        obs["issued"] = instant(now)
        obs["valueQuantity"] = {"value": value, "unit": unit, "system": c.UCUM, "code": unit}
        obs["interpretation"] = c.INTERP_LIST[flag]
        obs["referenceRange"] = RANGES[i]
        return [obs]

    def lab_result(
        self, patient: str, loinc: str, value: float, flag: str, now: datetime
    ) -> list[JSON]:
        """One laboratory result of `patient` (an inpatient now: ValueError if not) for the
        test `loinc` of LABS, resulted now, with the interpretation `flag` (HH, LL, H, ...)."""
        if self._token is None:  # before the feed's first step: this run's ids all the same
            self._token = format(int(now.timestamp()), "x")
        stay = next((s for s in self._census if s.patient == patient), None)
        if stay is None:
            self._refresh_census()
            stay = next((s for s in self._census if s.patient == patient), None)
        if stay is None:
            raise ValueError(f"Patient/{patient} is not in the hospital now")
        i = next((k for k, lab in enumerate(LABS) if lab[0]["coding"][0]["code"] == loinc), None)
        if i is None:
            raise ValueError(f"no laboratory test {loinc} in the synthetic hospital")
        code, unit = LABS[i][0], LABS[i][1]
        obs = self._observation(stay, now - timedelta(minutes=20), c.LAB_CAT, code)
        obs["issued"] = instant(now)
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
        codings = (mr.get("medicationCodeableConcept") or {}).get("coding") or [{}]
        drip = CODE_OF.get(str(codings[0].get("code")))
        if drip is not None:
            return self._rate_change(stay, mr, drip, nurse, now)
        given = now - timedelta(seconds=self.rng.randrange(0, 900))
        if not dosage.get("asNeededBoolean"):
            due = last_scheduled(mr, now, self.zone)
            if due is None or due < (self._since or now) or (str(mr.get("id")), due) in self._given:
                return self._vitals(now)
            if len(self._given) > GIVEN_KEPT:  # forget doses more than a day old
                self._given = {k for k in self._given if k[1] > now - timedelta(days=1)}
            self._given.add((str(mr.get("id")), due))
            given = min(now, due + timedelta(seconds=self.rng.randrange(-600, 1800)))
        ma: JSON = {
            "resourceType": "MedicationAdministration",
            "id": self._new_id("ma"),
            "status": "completed",
            "category": c.INPATIENT_ADMIN,
            "medicationCodeableConcept": mr.get("medicationCodeableConcept")
            or {"text": "medication"},
            "subject": ref("Patient", stay.patient),
            "context": ref("Encounter", stay.encounter),
            "effectiveDateTime": instant(given),
            "request": ref("MedicationRequest", str(mr.get("id"))),
        }
        if nurse:
            ma["performer"] = [{"actor": ref("Practitioner", nurse)}]
        dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity")
        admin_dosage = {k: v for k, v in (("route", dosage.get("route")), ("dose", dose)) if v}
        if admin_dosage:
            ma["dosage"] = admin_dosage
        return [ma]

    def _rate_change(
        self, stay: Stay, mr: JSON, key: str, nurse: str | None, now: datetime
    ) -> list[JSON]:
        """A nurse titrates a running drip: the new rate `in-progress` from now, the rate
        it replaces `completed` (its `effectivePeriod` ends when the new one starts)."""
        order = str(mr.get("id"))
        try:
            page = self.store.search(
                "MedicationAdministration",
                [("request", f"MedicationRequest/{order}"), ("status", "in-progress")],
                count=10,
            )
            running = [sr.json() for sr in page.resources]
        except ValueError:
            running = []
        running.sort(key=lambda ma: str((ma.get("effectivePeriod") or {}).get("start") or ""))
        dosage = (mr.get("dosageInstruction") or [{}])[0]
        held = running[-1].get("dosage") if running else (dosage.get("doseAndRate") or [{}])[0]
        drip = DRIPS[key]
        rate = rate_value(held or {}) or drip.rate
        when = now - timedelta(seconds=self.rng.randrange(0, 600))
        if running:
            began = str(running[-1].get("effectivePeriod", {}).get("start") or "")
            if began and instant(when) <= began:
                when = now
        ids = (self._new_id("ma"), stay.patient, stay.encounter, order)
        who = ref("Practitioner", nurse) if nurse else None
        new = titrate(self.rng, drip, rate)
        out = [rate_administration(drip, new, ids, int(when.timestamp()), who)]
        for ma in running:
            ma.pop("meta", None)
            ma["status"] = "completed"
            ma["effectivePeriod"] = {**ma.get("effectivePeriod", {}), "end": instant(when)}
            out.append(ma)
        return out

    def _age_sex(self, patient: str, at: datetime) -> tuple[int, str] | None:
        sr = self.store.read("Patient", patient)
        if sr is None:
            return None
        p = sr.json()
        try:
            born = datetime.fromisoformat(str(p["birthDate"])).date()
        except (KeyError, ValueError):
            return None
        day = at.date()
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        return age, str(p.get("gender") or "unknown")

    def _appointment(self, now: datetime) -> list[JSON]:
        """A follow-up visit, 1–7 days ahead on a weekday, in a clinic that sees the patient
        (age, sex, the reason they were admitted)."""
        d = self._directory()
        stay = self._inpatient()
        if not d.clinics or stay is None:
            return self._vitals(now)
        rng = self.rng
        local = now.astimezone(self.zone)  # clinic hours are the hospital's clock
        days = _weekdays_ahead(local)
        day = (local + timedelta(days=days[rng.randrange(len(days))])).replace(
            hour=rules.CLINIC_HOURS[0], minute=0, second=0, microsecond=0
        )
        who = self._age_sex(stay.patient, day)
        fitting = [
            (lid, name)
            for lid, name in d.clinics
            if who is not None
            and (rule := rules.clinic_named(name)) is not None
            and rules.clinic_fits(rule, who[0], who[1], {stay.reason})
        ]
        if not fitting:
            return self._vitals(now)
        clinic, name = fitting[rng.randrange(len(fitting))]
        doctor = self._staff(clinic, "")
        slots = (rules.CLINIC_HOURS[1] - rules.CLINIC_HOURS[0]) * 2
        start = day + timedelta(minutes=30 * rng.randrange(0, slots))
        participants = [
            {"actor": ref("Patient", stay.patient), "required": "required", "status": "accepted"},
            {"actor": ref("Location", clinic), "required": "required", "status": "accepted"},
        ]
        if doctor:
            participants.insert(
                1,
                {
                    "actor": ref("Practitioner", doctor),
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
                "start": instant(start),
                "end": instant(start + timedelta(minutes=30)),
                "minutesDuration": 30,
                "created": instant(now),
                "participant": participants,
            }
        ]

    def _reschedule(self, now: datetime) -> list[JSON]:
        """A booked clinic visit moved 1–7 days, to another weekday at the same time
        (surgical cases keep their operating room's schedule)."""
        try:
            page = self.store.search(
                "Appointment",
                [("date", f"ge{instant(now + timedelta(days=1))}"), ("status", "booked")],
                count=50,
            )
        except ValueError:
            return self._vitals(now)
        visits = [sr.json() for sr in page.resources]
        visits = [a for a in visits if "basedOn" not in a and "serviceCategory" not in a]
        if not visits:
            return self._vitals(now)
        appt = visits[self.rng.randrange(len(visits))]
        appt.pop("meta", None)
        start = datetime.fromisoformat(str(appt["start"]).replace("Z", "+00:00"))
        days = _weekdays_ahead(start.astimezone(self.zone))
        shift = timedelta(days=days[self.rng.randrange(len(days))])
        for key in ("start", "end"):
            if appt.get(key):
                t = datetime.fromisoformat(str(appt[key]).replace("Z", "+00:00"))
                appt[key] = instant(t + shift)
        appt.pop("slot", None)  # the old slot no longer holds it
        appt["comment"] = (str(appt.get("comment") or "") + " Rescheduled.").strip()
        return [appt]


def _weekdays_ahead(t: datetime) -> list[int]:
    """Which of the next 1–7 days after `t` (in the hospital's zone) are weekdays."""
    return [k for k in range(1, 8) if (t + timedelta(days=k)).weekday() < 5]


def _mmhg(v: int) -> JSON:
    return {"value": v, "unit": "mm[Hg]", "system": c.UCUM, "code": "mm[Hg]"}
