"""Striking and correcting downtime entries (docs/journal.md#in-the-viewer).

Nothing is edited in place: a correction is a new entry of the same kind naming the one it
corrects (`corrects`), made with the same form prefilled
(`/patients/{id}/document/<form>?corrects=<entry>`); a strike is a `strike` entry naming
the one struck, with a reason (`/patients/{id}/document/strike/<entry>`). The views show
what stands (`journal.repository.in_effect`); the documentation page and its PDF keep the
struck and corrected entries visible, struck through or "corrected by …".

Who may (`may_amend`): the entry's author, the clerk who transcribed it, or a role with
`amend` (physicians) — each only on a patient they may open, and only on entries of the
same kind of session (a drill's entries in a drill, real ones outside it). Every strike and
correction is audited.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission, can
from standby.fhir.mar import MarEntry
from standby.journal import repository as journal
from standby.journal.entries import Capture, Entry, EntryError, Kind, make_entry
from standby.journal.overlay import SHOWN
from standby.web import access, paper_window
from standby.web.guard import PageRequest, not_found, page

# the form each kind is corrected with
FORMS = {
    Kind.VITALS: "vitals",
    Kind.ADMINISTRATION: "dose",
    Kind.NOTE: "note",
    Kind.ALLERGY: "allergy",
    Kind.NO_KNOWN_ALLERGIES: "allergy",
    Kind.ORDER: "order",
}
_SAME = {Kind.NO_KNOWN_ALLERGIES: Kind.ALLERGY}  # "no known allergies" corrected to one


@dataclass(frozen=True, slots=True)
class Fate:
    """What became of an entry that no longer stands as written."""

    how: str  # "struck" | "corrected"
    by: Entry  # the strike, or the correcting entry


def history(entries: Iterable[Entry]) -> dict[str, Fate]:
    """Each entry that was struck or corrected (by id), with the entry that did it."""
    out: dict[str, Fate] = {}
    for e in entries:
        if e.corrects is None:
            continue
        if e.kind is Kind.STRIKE:
            out[e.corrects] = Fate("struck", e)
        elif e.corrects not in out or out[e.corrects].how != "struck":
            out[e.corrects] = Fate("corrected", e)
    return out


def may_amend(pr: PageRequest, e: Entry) -> bool:
    """Whether the user may strike or correct `e` (its author, its transcriber, or `amend`)."""
    me = pr.user.username
    if e.kind is Kind.STRIKE:
        return False
    if (e.author and e.author == me) or e.transcribed_by == me:
        return True
    return can(pr.user.role, Permission.AMEND)


def target(pr: PageRequest, pid: str, drill: bool, entry_id: str) -> Entry | Response:
    """The entry to strike or correct, or the page that says why not."""
    e = journal.read(pr.web.store, entry_id) if entry_id else None
    if e is None or e.patient_id != pid or e.kind not in SHOWN:
        return not_found(pr, "No such entry on this patient.")
    if e.drill != drill:
        return pr.forbidden(
            "A drill's entries are struck or corrected only in a drill, real ones only outside it."
        )
    if not may_amend(pr, e):
        return pr.forbidden(
            "Only who wrote this entry, who transcribed it, or a physician may strike or "
            "correct it."
        )
    standing = {
        x.id for x in journal.in_effect(journal.for_patient(pr.web.store, pid, drill=drill))
    }
    if e.id not in standing:
        return pr.render(
            "error.html",
            {"title": "Already changed", "message": "This entry was already struck or corrected."},
            409,
        )
    return e


def correcting(pr: PageRequest, pid: str, drill: bool) -> Entry | Response | None:
    """The entry a documentation form corrects (`corrects` in its query or form), None
    when it corrects nothing, or the page that says why not. Kept on the request for the
    form's rendering and saving (`original`)."""
    entry_id = pr.form.get("corrects") or pr.query("corrects")
    if not entry_id:
        return None
    found = target(pr, pid, drill, entry_id)
    if isinstance(found, Entry):
        pr.request.state.correcting = found
    return found


def original(pr: PageRequest) -> Entry | None:
    found = getattr(pr.request.state, "correcting", None)
    return found if isinstance(found, Entry) else None


def corrects(pr: PageRequest, kind: Kind) -> str | None:
    """The id the new entry corrects (refused when the kind differs)."""
    e = original(pr)
    if e is None:
        return None
    if _SAME.get(e.kind, e.kind) != _SAME.get(kind, kind):
        raise EntryError("corrects", f"a {e.kind.value} entry is corrected by a {e.kind.value}")
    return e.id


def without(line: MarEntry, e: Entry) -> MarEntry:
    """The MAR line without the dose being corrected (so that the dose form does not warn
    that the dose it corrects was given already)."""
    local = f"journal-{e.id}"
    kept = [a for a in line.administrations if a.id != local]
    last = line.last_given if line.last_given is None or line.last_given.id != local else None
    next_allowed = line.next_allowed if last is line.last_given else None
    return replace(line, administrations=kept, last_given=last, next_allowed=next_allowed)


def prefill(pr: PageRequest, e: Entry) -> dict[str, Any]:
    """The form's fields as the entry holds them (the correction starts from it)."""
    local = e.performed_at.astimezone(pr.web.zone).strftime("%Y-%m-%dT%H:%M")
    form: dict[str, Any] = {k: str(v) for k, v in e.payload.items() if not isinstance(v, bool)}
    if e.kind is Kind.NO_KNOWN_ALLERGIES:
        form["no_known"] = "yes"
    return {**form, "performed_at": local}


# ---- strike -----------------------------------------------------------------------------------
def _back(pr: PageRequest, pid: str) -> str:
    if can(pr.user.role, Permission.DOCUMENT):
        return f"/patients/{pid}/document"
    return f"/patients/{pid}/transcribe"


@page(None)
def strike(pr: PageRequest) -> Response:
    if not (can(pr.user.role, Permission.DOCUMENT) or can(pr.user.role, Permission.TRANSCRIBE)):
        return pr.forbidden(f"Your role ({pr.user.role}) does not allow this page.")
    w = paper_window.window(pr)
    if not w.open:
        return pr.render("error.html", {"title": "Closed", "message": w.reason}, 403)
    if not can(pr.user.role, Permission.TRANSCRIBE) and w.end is not None:
        return pr.render(
            "error.html",
            {"title": "Closed", "message": "The downtime has ended: document in the EHR."},
            403,
        )
    pid = pr.request.path_params["patient_id"]
    granted = access.open_patient(pr, pid)
    if granted is None:
        return not_found(pr, "Standby holds no patient with this id.")
    if isinstance(granted, access.Refused):
        return pr.forbidden("This patient is outside your units.")
    found = target(pr, pid, w.drill, pr.request.path_params["entry_id"])
    if isinstance(found, Response):
        return found
    summary = pr.web.summaries.summary(pid, pr.now, None)
    if summary is None:
        return not_found(pr, "Standby holds no patient with this id.")
    ctx: dict[str, Any] = {
        "s": summary,
        "h": summary.header,
        "e": found,
        "drill": w.drill,
        "back": _back(pr, pid),
        "error": None,
        "reason": "",
    }
    if pr.request.method == "GET":
        return pr.render("strike.html", ctx)
    reason = pr.form.get("reason", "")
    try:
        entry = make_entry(
            Kind.STRIKE,
            patient_id=pid,
            encounter_id=found.encounter_id,
            author=pr.user.username,
            author_name=pr.user.display_name or pr.user.username,
            role=pr.user.role,
            node=pr.web.settings.node_name or socket.gethostname(),
            now=pr.now,
            payload={"reason": reason},
            capture=Capture.BEDSIDE,
            corrects=found.id,
            drill=w.drill,
        )
    except EntryError as e:
        return pr.render("strike.html", {**ctx, "error": e, "reason": reason}, 400)
    journal.append(pr.web.store, [entry])
    pr.audit("strike", pid, f"{found.kind.value} {found.id} struck by {entry.id}: {reason[:200]}")
    return RedirectResponse(f"{_back(pr, pid)}?saved={entry.id}", 303)


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/document/strike/{entry_id}", strike, methods=["GET", "POST"]),
    ]
