"""`/patients/{id}/document…`: documenting while the EHR is down (docs/journal.md).

Open only during a declared downtime or a drill (drill entries are kept apart), to roles
with `document`, on patients the user may open (their units, or after breaking the glass).
Every form works without JavaScript. A form carries the UUID its entry will have, so one
sent twice (a lost response, a double tap) is saved once. The page says "Saved" only
after the entry is durably committed (`journal.repository.JournalWriter`), and each entry
writes an audit line (`document`).

- vital signs: impossible values refused with the field named; unlikely ones (3.7 °C)
  shown back to be confirmed;
- a dose given, held or refused, against the MAR: the wristband's MRN typed or scanned
  first (wrong-patient guard), then the warnings (given already — here or on another node
  once merged — too early, inside a PRN's interval, allergy) shown to be acknowledged;
- a progress or nursing note;
- an allergy, or "no known allergies" (refused over allergies the EHR lists);
- an order (physicians: `order`), medication, lab, imaging or nursing, to be filed as a
  request in the EHR.
"""

from __future__ import annotations

import socket
import uuid
import weakref
from datetime import datetime
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission, can
from standby.fhir.mar import MarEntry
from standby.fhir.summary import PatientSummary
from standby.journal import repository as journal
from standby.journal.entries import VITALS, Capture, Entry, EntryError, Kind, make_entry
from standby.journal.overlay import LISTED
from standby.journal.warnings import DoseWarning, administration_warnings, patient_confirmed
from standby.reports import render
from standby.store.base import Store
from standby.web import access, charting, header
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import corrections, printing

NO_PATIENT = "Standby holds no patient with this id."
CLOSED = (
    "Documenting in Standby is open only during a declared EHR downtime or a drill. "
    "When the EHR is up, document in the EHR."
)
_writers: weakref.WeakKeyDictionary[Store, journal.JournalWriter] = weakref.WeakKeyDictionary()


def _writer(store: Store) -> journal.JournalWriter:
    w = _writers.get(store)
    if w is None:
        w = _writers[store] = journal.JournalWriter(store)
    return w


def document_url(patient_id: str, form: str = "") -> str:
    return f"/patients/{patient_id}/document" + (f"/{form}" if form else "")


def _mode(pr: PageRequest) -> bool | None:
    """None when documenting is closed; else whether this is a drill."""
    status = header.downtime_status(pr.web.store)
    if status is None or not status.in_downtime:
        return None
    return status.drill


def _node(pr: PageRequest) -> str:
    return pr.web.settings.node_name or socket.gethostname()


def _opened(pr: PageRequest) -> tuple[str, PatientSummary, bool] | Response:
    """The patient, their summary (replica plus journal) and whether this is a drill; or
    the page that says why not."""
    drill = _mode(pr)
    if drill is None:
        return pr.render("error.html", {"title": "Documenting is closed", "message": CLOSED}, 403)
    pid = pr.request.path_params["patient_id"]
    granted = access.open_patient(pr, pid)
    if granted is None:
        return not_found(pr, NO_PATIENT)
    if isinstance(granted, access.Refused):
        return pr.forbidden("This patient is outside your units: break the glass first.")
    summary = pr.web.summaries.summary(pid, pr.now, charting.charted_until(pr.web))
    if summary is None:
        return not_found(pr, NO_PATIENT)
    correcting = corrections.correcting(pr, pid, drill)  # a form opened to correct an entry
    if isinstance(correcting, Response):
        return correcting
    return pid, summary, drill


def _render(pr: PageRequest, template: str, s: PatientSummary, drill: bool, **ctx: Any) -> Response:
    status = ctx.pop("status", 200)
    base: dict[str, Any] = {
        "s": s,
        "h": s.header,
        "drill": drill,
        "entry_id": str(uuid.uuid4()),
        "error": None,
        "warnings": [],
        "confirm": False,
        "form": {},
        "corrects": corrections.original(pr),
    }
    return pr.render(template, {**base, **ctx}, status)


def _prefill(pr: PageRequest) -> dict[str, Any]:
    """A form opened to correct an entry starts from what the entry holds."""
    e = corrections.original(pr)
    return corrections.prefill(pr, e) if e is not None and pr.request.method == "GET" else {}


def _again(
    pr: PageRequest, template: str, s: PatientSummary, drill: bool, error: EntryError, **ctx: Any
) -> Response:
    """The form again, with what was typed, the error naming the field, and the same entry
    UUID (so that the corrected form, once saved, is saved once)."""
    entry_id = _entry_id(pr) or str(uuid.uuid4())
    return _render(pr, template, s, drill, error=error, entry_id=entry_id, status=400, **ctx)


def _local_time(pr: PageRequest, text: str) -> datetime:
    """A `datetime-local` field ("2026-11-30T02:10") in the hospital's zone."""
    if not text:
        return pr.now
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise EntryError("performed_at", "is not a date and time") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=pr.web.zone)


def _save(
    pr: PageRequest, pid: str, s: PatientSummary, drill: bool, kind: Kind, **kw: Any
) -> Entry:
    entry = make_entry(
        kind,
        patient_id=pid,
        encounter_id=s.header.encounter_id or None,
        author=pr.user.username,
        author_name=pr.user.display_name or pr.user.username,
        role=pr.user.role,
        node=_node(pr),
        now=pr.now,
        capture=Capture.BEDSIDE,
        corrects=corrections.corrects(pr, Kind(kind)),
        drill=drill,
        **kw,
    )
    again = journal.read(pr.web.store, entry.id) is not None  # the same form sent twice
    if not again:
        _writer(pr.web.store).submit(entry)  # returns once the entry is on disk
    fixed = f" correcting {entry.corrects}" if entry.corrects else ""
    detail = f"{kind.value} {entry.id}{fixed}{' (drill)' if drill else ''}"
    pr.audit("document", pid, detail + (" (sent again: saved once)" if again else ""))
    return entry


def _saved(pid: str, entry: Entry) -> Response:
    return RedirectResponse(f"{document_url(pid)}?saved={entry.id}", 303)


def _entry_id(pr: PageRequest) -> str | None:
    value = pr.form.get("entry_id", "")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


# ---- the patient's documentation page ----------------------------------------------------
@page(Permission.DOCUMENT)
def index(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, drill = opened
    written = journal.for_patient(pr.web.store, pid, drill=drill)
    # every entry, latest done first, those struck or corrected marked (nothing disappears)
    entries = [e for e in reversed(written) if e.kind in LISTED]
    entries.sort(key=lambda e: (e.performed_at, e.recorded_at), reverse=True)
    fate = corrections.history(written)
    saved = pr.query("saved")
    pr.audit("view", pid, "documentation")
    return _render(
        pr,
        "document.html",
        s,
        drill,
        entries=entries,
        fate=fate,
        amendable={e.id for e in entries if e.id not in fate and corrections.may_amend(pr, e)},
        forms=corrections.FORMS,
        saved=saved if any(e.id == saved for e in written) else "",
        struck=any(e.id == saved and e.kind is Kind.STRIKE for e in written),
        may_order=can(pr.user.role, Permission.ORDER),
    )


# ---- vital signs ---------------------------------------------------------------------------
def _number(text: str) -> float | int | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)  # ValueError: not a number
    return int(value) if value.is_integer() and "." not in text else value


@page(Permission.DOCUMENT)
def vitals(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, drill = opened
    fields = list(VITALS)
    if pr.request.method == "GET":
        pre = _prefill(pr)
        return _render(pr, "document_vitals.html", s, drill, vitals=VITALS, values=pre, form=pre)
    values = {k: pr.form.get(k, "") for k in fields}
    payload: dict[str, Any] = {}
    try:
        for k in fields:
            try:
                v = _number(values[k])
            except ValueError:
                raise EntryError(k, "must be a number") from None
            if v is not None:
                payload[k] = v
        if pr.form.get("comment", "").strip():
            payload["comment"] = pr.form["comment"]
        if pr.form.get("confirmed") == "yes":
            payload["confirmed"] = True
        entry = _save(
            pr,
            pid,
            s,
            drill,
            Kind.VITALS,
            payload=payload,
            performed_at=_local_time(pr, pr.form.get("performed_at", "")),
            entry_id=_entry_id(pr),
        )
    except EntryError as e:
        return _again(
            pr,
            "document_vitals.html",
            s,
            drill,
            e,
            vitals=VITALS,
            values=values,
            confirm=e.field == "confirmed",
            form=pr.form,
        )
    return _saved(pid, entry)


# ---- notes, allergies, orders: a payload of the form's fields ------------------------------
def _simple(
    pr: PageRequest, template: str, kind_of: Any, fields: tuple[str, ...], **ctx: Any
) -> Response:
    """A form whose entry is its fields as they are; `kind_of(form)` says which kind (or
    raises `EntryError`)."""
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, drill = opened
    if pr.request.method == "GET":
        return _render(
            pr, template, s, drill, **{**ctx, "form": {**ctx.get("form", {}), **_prefill(pr)}}
        )
    payload = {f: pr.form[f] for f in fields if pr.form.get(f, "").strip()}
    try:
        kind = kind_of(pr.form, s)
        entry = _save(
            pr,
            pid,
            s,
            drill,
            kind,
            payload={} if kind is Kind.NO_KNOWN_ALLERGIES else payload,
            performed_at=_local_time(pr, pr.form.get("performed_at", "")),
            entry_id=_entry_id(pr),
        )
    except EntryError as e:
        return _again(pr, template, s, drill, e, **{**ctx, "form": pr.form})
    return _saved(pid, entry)


@page(Permission.DOCUMENT)
def note(pr: PageRequest) -> Response:
    return _simple(pr, "document_note.html", lambda f, s: Kind.NOTE, ("note_type", "title", "text"))


def _allergy_kind(form: dict[str, str], s: PatientSummary) -> Kind:
    if form.get("no_known") != "yes":
        return Kind.ALLERGY
    if s.allergies.items:  # never "none" over allergies the EHR lists
        listed = "; ".join(a.substance for a in s.allergies.items)
        raise EntryError(
            "no_known", f"the EHR lists allergies for this patient ({listed}): not recorded"
        )
    return Kind.NO_KNOWN_ALLERGIES


@page(Permission.DOCUMENT)
def allergy(pr: PageRequest) -> Response:
    return _simple(
        pr, "document_allergy.html", _allergy_kind, ("substance", "reaction", "criticality")
    )


ORDER_FIELDS = (
    "category",
    "text",
    "priority",
    "orderer",
    "medication",
    "dose",
    "route",
    "frequency",
)


@page(Permission.ORDER)
def order(pr: PageRequest) -> Response:
    me = pr.user.display_name or pr.user.username
    return _simple(
        pr, "document_order.html", lambda f, s: Kind.ORDER, ORDER_FIELDS, form={"orderer": me}
    )


# ---- a dose given, held or refused ----------------------------------------------------------
def _orders(s: PatientSummary) -> list[MarEntry]:
    return [e for e in [*s.mar.scheduled, *s.mar.prn] if e.infusion is None]


def _scheduled(pr: PageRequest, text: str) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise EntryError("scheduled_for", "is not a time") from None
    return t if t.tzinfo else t.replace(tzinfo=pr.web.zone)


@page(Permission.DOCUMENT)
def dose(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, drill = opened
    orders = _orders(s)
    fixed = corrections.original(pr)  # a dose being corrected
    chosen_id = pr.form.get("request_id") or pr.query("order")
    chosen_id = chosen_id or (str(fixed.payload.get("request_id", "")) if fixed else "")
    line = next((o for o in orders if o.medication.id == chosen_id), None)
    if line is not None and fixed is not None:
        line = corrections.without(line, fixed)  # its warnings are not about itself
    ctx: dict[str, Any] = {"orders": orders, "line": line, "form": dict(pr.form)}
    if pr.request.method == "GET" or line is None:
        if line is not None:
            ctx["form"] = {
                "scheduled_for": pr.query("due"),
                "request_id": line.medication.id,
                **_prefill(pr),
            }
        error = (
            EntryError("request_id", "choose the order") if pr.request.method == "POST" else None
        )
        return _render(pr, "document_dose.html", s, drill, error=error, **ctx)
    f = pr.form
    try:
        if not patient_confirmed(f.get("wristband", ""), s.header.mrn or ""):
            raise EntryError(
                "wristband",
                f"this MRN is not {s.header.name}'s: check the wristband and scan or type it again",
            )
        performed = _local_time(pr, f.get("performed_at", ""))
        scheduled = _scheduled(pr, f.get("scheduled_for", ""))
        warnings: list[DoseWarning] = []
        if f.get("status") == "given":
            warnings = administration_warnings(
                line,
                performed_at=performed,
                scheduled_for=scheduled,
                allergy_alerts=s.alerts_for(line.medication.id),
            )
        if warnings and f.get("acknowledged") != "yes":
            return _render(
                pr,
                "document_dose.html",
                s,
                drill,
                warnings=warnings,
                entry_id=_entry_id(pr) or str(uuid.uuid4()),
                status=409,
                **ctx,
            )
        m = line.medication
        payload = {
            "request_id": m.id,
            "medication": m.name,
            "status": f.get("status", ""),
            "dose": f.get("dose", "") or m.dose,
            "route": f.get("route", "") or m.route,
            "site": f.get("site", ""),
            "reason": f.get("reason", ""),
            "scheduled_for": scheduled.isoformat() if scheduled else "",
            "warnings_acknowledged": [w.text for w in warnings],
        }
        entry = _save(
            pr,
            pid,
            s,
            drill,
            Kind.ADMINISTRATION,
            payload=payload,
            performed_at=performed,
            entry_id=_entry_id(pr),
        )
    except EntryError as e:
        return _again(pr, "document_dose.html", s, drill, e, **ctx)
    return _saved(pid, entry)


@page(Permission.PRINT)
def print_documentation(pr: PageRequest) -> Response:
    """This downtime's entries on the patient as a PDF (for the chart and handover)."""
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, drill = opened
    written = journal.for_patient(pr.web.store, pid, drill=drill)
    entries = [e for e in written if e.kind is not Kind.STRIKE]
    pr.audit("print", pid, f"downtime documentation ({len(entries)} entries)")
    fate = {k: (f.how, f.by) for k, f in corrections.history(written).items()}
    f = printing.furniture(pr, s.header.unit)
    pdf = render.documentation_pdf(s, entries, f, fate, drill=drill)
    return printing.pdf_response(pdf, f"downtime-documentation-{s.header.mrn or pid}.pdf")


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/document", index),
        Route("/patients/{patient_id}/document/print.pdf", print_documentation),
        Route("/patients/{patient_id}/document/vitals", vitals, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/document/note", note, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/document/allergy", allergy, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/document/order", order, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/document/dose", dose, methods=["GET", "POST"]),
    ]
