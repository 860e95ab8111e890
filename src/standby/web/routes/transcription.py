"""`/transcribe`, `/patients/{id}/transcribe…`: keying the paper downtime forms
(docs/journal.md#transcription-from-paper).

A clerk (`transcribe`) enters what clinicians wrote on a patient's paper forms, one page per
form that takes a whole sheet at once: the vitals flowsheet as a grid (times ×
measurements), the MAR as doses under each order (time, given or not, dose, route,
initials), notes. Every row names who wrote it on paper (an account, or a clinician
without one, named with their role) and the time written; it is saved as an entry of that
clinician, `capture=transcribed`, `transcribed_by` the clerk. Each row is checked on its
own: a bad row is shown back with its reason (an unlikely value with a box to confirm it)
and the good rows are saved, durably, once (each row carries its entry's UUID).

A dose is attached to its order and to its scheduled time (the nearest scheduled dose
within the MAR's window unless the clerk chose one), so the MAR counts it as given and the
next dose follows it. The dose warnings (given twice, too early, allergy) are shown as
information: the dose was given on paper already.

Open during a declared downtime or a drill (a drill's paper as drill entries), and after a
real downtime has ended for `journal.transcription.AFTER_END`, until back-entry starts
(`journal.transcription.window`); a row timed outside the downtime is refused.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts import repository as accounts
from standby.accounts.roles import Permission, can
from standby.fhir.mar import WINDOW, MarEntry
from standby.fhir.summary import PatientSummary
from standby.journal import repository as journal
from standby.journal import transcription as paper
from standby.journal.entries import (
    ADMINISTRATION_STATUSES,
    NOTE_TYPES,
    Capture,
    Entry,
    EntryError,
    Kind,
    make_entry,
)
from standby.journal.overlay import SHOWN
from standby.journal.warnings import DoseWarning, administration_warnings
from standby.web import access, charting, paper_window
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import corrections

NO_PATIENT = "Standby holds no patient with this id."
NAV = [("/transcribe", "Transcribe", Permission.TRANSCRIBE)]
VITALS_ROWS = 12  # blank rows on a new flowsheet page
DOSE_ROWS = 3  # blank dose rows under each order
NOTE_ROWS = 3
OTHER_ROLES = ("nurse", "physician", "nursing assistant", "respiratory therapist", "pharmacist")


def transcribe_url(patient_id: str, form: str = "") -> str:
    return f"/patients/{patient_id}/transcribe" + (f"/{form}" if form else "")


def _opened(pr: PageRequest) -> tuple[str, PatientSummary, paper.Window] | Response:
    w = paper_window.window(pr)
    if not w.open:
        message = f"Transcription from paper is closed. {w.reason}"
        return pr.render(
            "error.html", {"title": "Transcription is closed", "message": message}, 403
        )
    pid = pr.request.path_params["patient_id"]
    granted = access.open_patient(pr, pid)
    if granted is None:
        return not_found(pr, NO_PATIENT)
    if isinstance(granted, access.Refused):
        return pr.forbidden("This patient is outside your units.")
    summary = pr.web.summaries.summary(pid, pr.now, charting.charted_until(pr.web))
    if summary is None:
        return not_found(pr, NO_PATIENT)
    return pid, summary, w


def _authors(pr: PageRequest) -> dict[str, paper.Author]:
    """The clinicians with an account (roles that document), by display name (read once
    per request)."""
    known = getattr(pr.request.state, "authors", None)
    if isinstance(known, dict):
        return known
    users = [u for u in accounts.list_users(pr.web.store) if u.active]
    users = [u for u in users if can(u.role, Permission.DOCUMENT)]
    users.sort(key=lambda u: (u.display_name or u.username).lower())
    out = {
        u.username: paper.Author(u.username, u.display_name or u.username, u.role) for u in users
    }
    pr.request.state.authors = out
    return out


def _other(pr: PageRequest) -> paper.Author | None:
    name = pr.form.get("other_name", "").strip()[:200]
    role = pr.form.get("other_role", "").strip()[:100]
    return paper.Author("", name, role) if name and role else None


def _sheet_day(pr: PageRequest) -> date:
    text = pr.form.get("day", "").strip()
    if not text:
        return pr.now.astimezone(pr.web.zone).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise EntryError("day", f"{text!r} is not a date (YYYY-MM-DD)") from None


def _entry(
    pr: PageRequest,
    pid: str,
    s: PatientSummary,
    w: paper.Window,
    kind: Kind,
    row: paper.Row,
    payload: dict[str, Any],
    performed: datetime,
) -> Entry:
    author = paper.author_of(
        row.values.get("by", ""), pr.form.get("by", ""), _authors(pr), _other(pr)
    )
    paper.within(w, performed)
    return make_entry(
        kind,
        patient_id=pid,
        encounter_id=s.header.encounter_id or None,
        author=author.username,
        author_name=author.name,
        role=author.role,
        node=pr.web.settings.node_name or socket.gethostname(),
        now=pr.now,
        payload=payload,
        performed_at=performed,
        capture=Capture.TRANSCRIBED,
        transcribed_by=pr.user.username,
        drill=w.drill,
        entry_id=row.entry_id,
    )


def _store(pr: PageRequest, pid: str, entries: list[Entry]) -> None:
    """Save the good rows in one durable transaction (each once), and audit each."""
    if not entries:
        return
    done = journal.append(pr.web.store, entries)
    for e in entries:
        again = " (sent again: saved once)" if e.id in done.already else ""
        drill = " (drill)" if e.drill else ""
        pr.audit("transcribe", pid, f"{e.kind.value} {e.id} for {e.author_name}{drill}{again}")


def _render(
    pr: PageRequest, template: str, s: PatientSummary, w: paper.Window, **ctx: Any
) -> Response:
    status = ctx.pop("status", 200)
    base: dict[str, Any] = {
        "s": s,
        "h": s.header,
        "drill": w.drill,
        "window": w,
        "authors": list(_authors(pr).values()),
        "other_roles": OTHER_ROLES,
        "sheet": {
            "day": pr.form.get("day") or pr.now.astimezone(pr.web.zone).date().isoformat(),
            "by": pr.form.get("by", ""),
            "other_name": pr.form.get("other_name", ""),
            "other_role": pr.form.get("other_role", ""),
        },
        "saved": [],
        "notes": {},
        "refused": 0,
        "error": None,
    }
    return pr.render(template, {**base, **ctx}, status)


def _refused(row: paper.Row, error: EntryError) -> paper.Row:
    return replace(row, error=error, confirm=error.field == "confirmed")


# ---- the clerk's start: the patients of their units -------------------------------------------
@page(Permission.TRANSCRIBE)
def home(pr: PageRequest) -> Response:
    w = paper_window.window(pr)
    units = {u.id: u for u in clinical.units(pr.web.store)}
    mine = [u for u in units.values() if pr.user.assigned_to(u.id)]
    censuses = [
        clinical.unit_census(pr.web.store, u.id, pr.now, cache=pr.web.summaries) for u in mine
    ]
    pr.audit_many("census", [p.id for c in censuses for p in c.patients], "transcription")
    return pr.render("transcribe_home.html", {"window": w, "censuses": censuses})


# ---- a patient's transcription page -------------------------------------------------------------
@page(Permission.TRANSCRIBE)
def index(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, w = opened
    entries = journal.for_patient(pr.web.store, pid, drill=w.drill)
    mine = [e for e in entries if e.capture is Capture.TRANSCRIBED and e.kind in SHOWN]
    history = corrections.history(entries)
    pr.audit("view", pid, "transcription")
    return _render(
        pr,
        "transcribe.html",
        s,
        w,
        entries=sorted(mine, key=lambda e: (e.performed_at, e.recorded_at), reverse=True),
        fate=history,
        may_strike=[e.id for e in mine if corrections.may_amend(pr, e)],
        struck=any(e.id == pr.query("saved") and e.kind is Kind.STRIKE for e in entries),
    )


# ---- the vitals flowsheet -----------------------------------------------------------------------
VITAL_FIELDS = ("time", *(k for k, _ in paper.FLOWSHEET), "by", "confirmed")


@page(Permission.TRANSCRIBE)
def vitals(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, w = opened
    ctx: dict[str, Any] = {"columns": paper.FLOWSHEET}
    if pr.request.method == "GET":
        return _render(
            pr, "transcribe_vitals.html", s, w, rows=paper.blank_rows(VITALS_ROWS), **ctx
        )
    good: list[Entry] = []
    bad: list[paper.Row] = []
    for row in paper.rows(pr.form, VITAL_FIELDS):
        if row.blank:
            continue
        try:
            performed = paper.paper_time(row.values["time"], _sheet_day(pr), pr.web.zone)
            payload = paper.flowsheet_payload(row.values)
            good.append(_entry(pr, pid, s, w, Kind.VITALS, row, payload, performed))
        except EntryError as e:
            bad.append(_refused(row, e))
    return _answer(pr, pid, s, w, "transcribe_vitals.html", good, bad, VITALS_ROWS, ctx)


def _answer(
    pr: PageRequest,
    pid: str,
    s: PatientSummary,
    w: paper.Window,
    template: str,
    good: list[Entry],
    bad: list[paper.Row],
    blanks: int,
    ctx: dict[str, Any],
    **extra: Any,
) -> Response:
    """Save the good rows; show the page again with what was saved and the refused rows
    (with their reasons and what was typed), then blank rows for the rest of the sheet."""
    _store(pr, pid, good)
    error = None
    if not good and not bad:
        error = EntryError("rows", "nothing to save: no row was filled in")
    last = max([r.n for r in bad], default=-1)
    rows = [*bad, *paper.blank_rows(max(blanks - len(bad), 2), start=last + 1)]
    return _render(
        pr,
        template,
        s,
        w,
        rows=rows,
        refused=len(bad),
        saved=good,
        error=error,
        status=400 if bad or error else 200,
        **ctx,
        **extra,
    )


# ---- the paper MAR ------------------------------------------------------------------------------
DOSE_FIELDS = ("order", "time", "status", "dose", "route", "sched", "reason", "by")


def _orders(s: PatientSummary) -> list[MarEntry]:
    return [e for e in [*s.mar.scheduled, *s.mar.prn] if e.infusion is None]


def _nearest(line: MarEntry, t: datetime) -> datetime | None:
    """The scheduled dose the dose given at `t` was for: the nearest within the MAR's
    window (None: a PRN or an extra dose)."""
    if line.medication.prn:
        return None
    near = [d.time for d in line.doses if abs(d.time - t) <= WINDOW]
    return min(near, key=lambda d: abs(d - t)) if near else None


def _scheduled_for(pr: PageRequest, line: MarEntry, text: str, t: datetime) -> datetime | None:
    if text == "none":
        return None
    if not text:
        return _nearest(line, t)
    try:
        chosen = datetime.fromisoformat(text)
    except ValueError:
        raise EntryError("sched", "is not a scheduled time") from None
    return chosen if chosen.tzinfo else chosen.replace(tzinfo=pr.web.zone)


def _dose_groups(
    orders: list[MarEntry], rows: list[paper.Row]
) -> list[tuple[MarEntry, list[paper.Row]]]:
    return [(o, [r for r in rows if r.values.get("order") == o.medication.id]) for o in orders]


def _blank_doses(orders: list[MarEntry], start: int = 0) -> list[paper.Row]:
    out: list[paper.Row] = []
    for o in orders:
        out += paper.blank_rows(DOSE_ROWS, start + len(out), order=o.medication.id, status="given")
    return out


@page(Permission.TRANSCRIBE)
def mar(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, w = opened
    orders = _orders(s)
    ctx: dict[str, Any] = {
        "statuses": ADMINISTRATION_STATUSES,
        "window_minutes": int(WINDOW.total_seconds() // 60),
        "until": pr.now + WINDOW,  # the scheduled doses offered: those due by now
    }
    if pr.request.method == "GET":
        groups = _dose_groups(orders, _blank_doses(orders))
        return _render(pr, "transcribe_mar.html", s, w, groups=groups, **ctx)
    lines = {o.medication.id: o for o in orders}
    good: list[Entry] = []
    bad: list[paper.Row] = []
    notes: dict[str, list[DoseWarning]] = {}
    seen: dict[tuple[str, str], str] = {}
    for row in paper.rows(pr.form, DOSE_FIELDS, limit=400):
        if row.blank:
            continue
        try:
            line = lines.get(row.values["order"])
            if line is None:
                raise EntryError("order", "this order is not on the patient's MAR")
            performed = paper.paper_time(row.values["time"], _sheet_day(pr), pr.web.zone)
            scheduled = _scheduled_for(pr, line, row.values["sched"].strip(), performed)
            status = row.values["status"]
            warnings: list[DoseWarning] = []
            if status == "given":
                warnings = administration_warnings(
                    line,
                    performed_at=performed,
                    scheduled_for=scheduled,
                    allergy_alerts=s.alerts_for(line.medication.id),
                )
            m = line.medication
            payload: dict[str, Any] = {
                "request_id": m.id,
                "medication": m.name,
                "status": status,
                "dose": row.values["dose"].strip() or m.dose,
                "route": row.values["route"].strip() or m.route,
                "reason": row.values["reason"].strip(),
                "scheduled_for": scheduled.isoformat() if scheduled else "",
            }
            key = (m.id, payload["scheduled_for"] or performed.isoformat())
            if status == "given" and key in seen:
                warnings.append(
                    DoseWarning(
                        "given-already",
                        f"This sheet gives the same dose twice (also at {seen[key]}): both "
                        "are saved as written; check the paper.",
                    )
                )
            payload["warnings_acknowledged"] = [x.text for x in warnings]
            entry = _entry(pr, pid, s, w, Kind.ADMINISTRATION, row, payload, performed)
            if status == "given":
                seen[key] = row.values["time"].strip()
            good.append(entry)
            notes[entry.id] = warnings
        except EntryError as e:
            bad.append(_refused(row, e))
    last = max([r.n for r in bad], default=-1)
    groups = _dose_groups(orders, [*bad, *_blank_doses(orders, last + 1)])
    return _answer(
        pr, pid, s, w, "transcribe_mar.html", good, bad, 0, ctx, groups=groups, notes=notes
    )


# ---- notes --------------------------------------------------------------------------------------
NOTE_FIELDS = ("time", "note_type", "title", "text", "by")


@page(Permission.TRANSCRIBE)
def notes(pr: PageRequest) -> Response:
    opened = _opened(pr)
    if isinstance(opened, Response):
        return opened
    pid, s, w = opened
    ctx: dict[str, Any] = {"note_types": NOTE_TYPES}
    if pr.request.method == "GET":
        rows = paper.blank_rows(NOTE_ROWS, note_type="nursing")
        return _render(pr, "transcribe_notes.html", s, w, rows=rows, **ctx)
    good: list[Entry] = []
    bad: list[paper.Row] = []
    for row in paper.rows(pr.form, NOTE_FIELDS):
        if row.blank:
            continue
        try:
            performed = paper.paper_time(row.values["time"], _sheet_day(pr), pr.web.zone)
            payload = {k: row.values[k] for k in ("note_type", "title", "text")}
            good.append(_entry(pr, pid, s, w, Kind.NOTE, row, payload, performed))
        except EntryError as e:
            bad.append(_refused(row, e))
    return _answer(pr, pid, s, w, "transcribe_notes.html", good, bad, NOTE_ROWS, ctx)


def routes() -> list[BaseRoute]:
    return [
        Route("/transcribe", home),
        Route("/patients/{patient_id}/transcribe", index),
        Route("/patients/{patient_id}/transcribe/vitals", vitals, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/transcribe/mar", mar, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/transcribe/notes", notes, methods=["GET", "POST"]),
    ]
