"""`/register`: registering a patient who arrives while the EHR is down
(docs/journal.md#in-the-viewer), for roles with `register` (the registrar).

Open only during a declared downtime or a drill. The registrar first searches for the
patient (a patient the replica holds is admitted with the admit form instead); then
types what the EHR will need later to match the patient (name, birth date, sex, address,
phone, another identifier such as a driver's licence, the EHR MRN if the patient knows
it, who brought them) and where they go (a bed, a unit, the ED or a clinic). The
downtime MRN and encounter number come from this node's ranges (`journal.numbers.
allocate`: two registrars at the same moment get two numbers), or are claimed from a
pre-printed downtime band when the patient was registered on paper (`numbers.claim`).

The patient then exists only in the journal, with the local id `journal-<uuid>` (its
registration's UUID): on the census of its unit, in search, in the summary (marked
"registered during downtime — not in the EHR") and documentable like any other. The
wristband label (`/register/{id}/wristband.pdf`) carries the downtime MRN as text and
barcode. The form carries its entry's UUID: sent twice, one patient and one number.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission
from standby.fhir.summary import PatientSummary
from standby.journal import numbers
from standby.journal import repository as journal
from standby.journal.entries import SEXES, Capture, Entry, EntryError, Kind, make_entry
from standby.journal.fhir_mapping import (
    JOURNAL_ID_PREFIX,
    registration_encounter_id,
    registration_patient_id,
)
from standby.reports.wristband import Wristband, wristband_pdf
from standby.web import charting
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import adt, printing
from standby.web.routes import documentation as doc

FIELDS = (
    "family",
    "given",
    "birth_date",
    "sex",
    "phone",
    "address",
    "other_identifier_type",
    "other_identifier",
    "ehr_mrn",
    "brought_by",
    "identifying_notes",
    "setting",
)
SETTING_LABELS = {
    "inpatient": "Admitted to a bed or unit",
    "emergency": "Emergency department",
    "ambulatory": "Clinic or outpatient visit",
}
NO_RANGE = (
    "This Standby node has no range of downtime numbers (settings journal_mrn_range and "
    "journal_encounter_range): register on paper with a pre-printed downtime band, and "
    "ask for the node's ranges to be set."
)


def _closed(pr: PageRequest) -> Response | bool:
    drill = doc._mode(pr)
    if drill is None:
        return pr.render(
            "error.html", {"title": "Registering is closed", "message": doc.CLOSED}, 403
        )
    return drill


def _ranges(pr: PageRequest) -> tuple[numbers.NumberRange, numbers.NumberRange]:
    s = pr.web.settings
    if not s.journal_mrn_range or not s.journal_encounter_range:
        raise numbers.NumberError(NO_RANGE)
    return numbers.parse_range(s.journal_mrn_range), numbers.parse_range(s.journal_encounter_range)


def _numbers(pr: PageRequest, drill: bool) -> tuple[str, str]:
    """The downtime MRN and encounter number: new from the node's ranges, or those of the
    pre-printed band the form names."""
    mrn_range, enc_range = _ranges(pr)
    node = doc._node(pr)
    if pr.form.get("numbers") == "band":
        mrn = pr.form.get("band_mrn", "").strip().upper()
        enc = pr.form.get("band_encounter", "").strip().upper()
        if not mrn or not enc:
            raise EntryError("band_mrn", "type the MRN and the encounter number of the band")
        try:
            numbers.claim(pr.web.store, "mrn", mrn, mrn_range, node, pr.now)
        except numbers.NumberError as e:
            raise EntryError("band_mrn", str(e)) from None
        try:
            numbers.claim(pr.web.store, "encounter", enc, enc_range, node, pr.now)
        except numbers.NumberError as e:
            raise EntryError("band_encounter", str(e)) from None
        return mrn, enc
    return (
        numbers.allocate(pr.web.store, "mrn", mrn_range, node, pr.now),
        numbers.allocate(pr.web.store, "encounter", enc_range, node, pr.now),
    )


def _render(pr: PageRequest, drill: bool, status: int = 200, **ctx: Any) -> Response:
    base: dict[str, Any] = {
        "drill": drill,
        "entry_id": str(uuid.uuid4()),
        "error": None,
        "form": {},
        "sexes": SEXES,
        "settings_of": SETTING_LABELS,
        "spots": adt.spots(pr.web.store, pr),
        "h_patient_id": "",
    }
    return pr.render("register.html", {**base, **ctx}, status)


@page(Permission.REGISTER)
def register(pr: PageRequest) -> Response:
    drill = _closed(pr)
    if isinstance(drill, Response):
        return drill
    if pr.request.method == "GET":
        return _render(pr, drill)
    f = pr.form
    entry_id = doc._entry_id(pr) or str(uuid.uuid4())
    done = journal.read(pr.web.store, entry_id)
    if done is not None:  # the same form sent again: one patient, one number
        pr.audit("register", done.patient_id, f"{done.id} (sent again: saved once)")
        return RedirectResponse(registered_url(done.patient_id), 303)
    payload: dict[str, Any] = {k: f[k].strip() for k in FIELDS if f.get(k, "").strip()}
    payload.setdefault("setting", "inpatient")
    try:
        if f.get("location_id"):
            spot = adt.check_spot(adt.spots(pr.web.store, pr), f["location_id"], None)
            payload["location_id"] = spot.location_id
            payload["location_name"] = spot.label
        elif payload["setting"] == "inpatient":
            raise EntryError("location_id", "an admission needs a bed or a unit")
        payload["mrn"], payload["encounter_number"] = "pending", "pending"
        # checked before numbers are handed out: a form with a mistake uses none
        _entry(pr, entry_id, payload, drill)
        try:
            payload["mrn"], payload["encounter_number"] = _numbers(pr, drill)
        except numbers.NumberError as e:
            raise EntryError("numbers", str(e)) from None
        entry = _entry(pr, entry_id, payload, drill)
    except EntryError as e:
        return _render(
            pr, drill, 409 if "occupied" in e.message else 400, error=e, form=f, entry_id=entry_id
        )
    doc._writer(pr.web.store).submit(entry)  # returns once the entry is on disk
    detail = f"registration {entry.id} MRN {payload['mrn']}{' (drill)' if drill else ''}"
    pr.audit("register", entry.patient_id, detail)
    return RedirectResponse(registered_url(entry.patient_id), 303)


def _entry(pr: PageRequest, entry_id: str, payload: dict[str, Any], drill: bool) -> Entry:
    return make_entry(
        Kind.REGISTRATION,
        patient_id=registration_patient_id(entry_id),
        encounter_id=registration_encounter_id(entry_id),
        author=pr.user.username,
        author_name=pr.user.display_name or pr.user.username,
        role=pr.user.role,
        node=doc._node(pr),
        now=pr.now,
        capture=Capture.BEDSIDE,
        drill=drill,
        payload=payload,
        performed_at=doc._local_time(pr, pr.form.get("performed_at", "")),
        entry_id=entry_id,
    )


def registered_url(patient_id: str) -> str:
    return f"/register/{patient_id}"


def _registration(pr: PageRequest) -> Entry | None:
    pid = pr.request.path_params["patient_id"]
    if not pid.startswith(JOURNAL_ID_PREFIX):
        return None
    entries = journal.in_effect(journal.for_patient(pr.web.store, pid))
    return next((e for e in reversed(entries) if e.kind is Kind.REGISTRATION), None)


def _summary(pr: PageRequest, pid: str) -> PatientSummary | None:
    return pr.web.summaries.summary(pid, pr.now, charting.charted_until(pr.web))


@page(Permission.REGISTER)
def registered(pr: PageRequest) -> Response:
    """What was registered: the identifiers to check against the patient, the numbers,
    where they go, and the wristband to print."""
    entry = _registration(pr)
    if entry is None:
        return not_found(pr, "No patient registered during downtime has this id.")
    pr.audit("view", entry.patient_id, "registration")
    return pr.render(
        "registered.html",
        {"e": entry, "p": entry.payload, "settings_of": SETTING_LABELS, "drill": entry.drill},
    )


@page(Permission.REGISTER)
def wristband(pr: PageRequest) -> Response:
    entry = _registration(pr)
    if entry is None:
        return not_found(pr, "No patient registered during downtime has this id.")
    p = entry.payload
    name = ", ".join(x for x in (str(p["family"]).upper(), str(p.get("given") or "")) if x)
    at = entry.recorded_at.astimezone(pr.web.zone).strftime("%d %b %Y %H:%M %Z")
    drill = " — DRILL" if entry.drill else ""
    band = Wristband(
        name=name,
        dob=str(p["birth_date"]),
        sex=str(p["sex"]),
        mrn=str(p["mrn"]),
        encounter=str(p["encounter_number"]),
        registered=f"Registered {at} during EHR downtime by {entry.author}{drill}",
        where=str(p.get("location_name") or SETTING_LABELS.get(str(p.get("setting")), "")),
        drill=entry.drill,
    )
    pr.audit("print", entry.patient_id, f"downtime wristband {p['mrn']}")
    return printing.pdf_response(wristband_pdf(band), f"downtime-wristband-{p['mrn']}.pdf")


NAV = [("/register", "Register a patient", Permission.REGISTER)]


def routes() -> list[BaseRoute]:
    return [
        Route("/register", register, methods=["GET", "POST"]),
        Route("/register/{patient_id}", registered),
        Route("/register/{patient_id}/wristband.pdf", wristband),
    ]
