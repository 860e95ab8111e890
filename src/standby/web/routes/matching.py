"""`/registrations…`: which EHR patient each downtime registration is (docs/recovery.md,
"Patient matching"). Role `registrar` (permission `register`).

- `/registrations`: every patient registered during the downtime, with the decision
  taken on each (none yet, same as an EHR patient, or new);
- `/registrations/{id}`: the registration beside its candidates (the replica's, then the
  live EHR's: `standby.recovery.candidates`), field by field, each with its score and
  the reasons; the registrar chooses "same as EHR patient X" or "create new" and states
  why. One exact candidate is pre-selected, never chosen: nothing is stored until a
  registrar sends the form. Each view and each decision writes an audit line
  (`match-view`, `match-decision`), and the page shows the decision's history. Once
  back-entry has started sending the patient's entries, the decision is shown and can
  no longer be changed.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission
from standby.recovery import candidates, matches, matching
from standby.sync.http import FhirClient, RetryPolicy
from standby.sync.runner import settings_auth
from standby.web.guard import PageRequest, not_found, page

NEW = "new"
EHR_TIMEOUT = 10.0


def _ehr(pr: PageRequest) -> tuple[FhirClient | None, str]:
    """A client of the live EHR (as the sync talks to it), or None and why not. Few
    retries: a registrar waits for the page."""
    s = pr.web.settings
    if not s.source_url:
        return None, ""
    try:
        auth = settings_auth(s)
    except Exception as e:  # a broken key or setting: the page says the EHR was not asked
        return None, f"the EHR's authentication is not usable ({e})"
    client = FhirClient(
        s.source_url,
        auth=auth,
        concurrency=1,
        rate=0,
        timeout=EHR_TIMEOUT,
        policy=RetryPolicy(max_attempts=2, max_delay=1.0),
    )
    return client, ""


def _row(person: matching.Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "other_names": [f"{f.upper()}, {g}" if g else f.upper() for f, g in person.names[1:]],
        "birth_date": person.birth_date or "not recorded",
        "sex": person.sex or "not recorded",
        "address": person.address or "not recorded",
        "phone": person.phone or "not recorded",
        "identifiers": [f"{s or 'system not stated'}: {v}" for s, v in person.identifiers],
    }


def _choice_text(ehr_patient_id: str | None) -> str:
    return (
        "create a new patient"
        if ehr_patient_id is None
        else f"same as EHR Patient/{ehr_patient_id}"
    )


@page(Permission.REGISTER)
def registration_list(pr: PageRequest) -> Response:
    regs = candidates.registrations(pr.web.store)
    decided = matches.all_decisions(pr.web.store)
    rows = [
        {
            "id": r.id,
            "mrn": r.entry.payload.get("mrn", ""),
            "person": _row(r.person),
            "registered_at": r.entry.recorded_at,
            "decided": r.id in decided,
            "choice": _choice_text(decided[r.id]) if r.id in decided else "",
        }
        for r in regs
    ]
    pr.audit_many("registrations", [r.entry.patient_id for r in regs])
    return pr.render(
        "registrations.html", {"rows": rows, "undecided": sum(not r["decided"] for r in rows)}
    )


def _page(pr: PageRequest, reg: candidates.Registration, **ctx: Any) -> Response:
    status = ctx.pop("status", 200)
    client, why_not = _ehr(pr)
    with client or contextlib.nullcontext():
        found = candidates.find(pr.web.store, reg.person, client, why_not=why_not)
        current = matches.decision(pr.web.store, reg.id)
        shown = {c.patient_id for c in found.assessment.candidates}
        extra: list[dict[str, Any]] = []
        if current and current.ehr_patient_id and current.ehr_patient_id not in shown:
            bodies = candidates.patients(pr.web.store, client, [current.ehr_patient_id])
            for pid, body in bodies.items():
                extra.append({"id": pid, "person": _row(matching.from_patient(body))})
    if current is not None:
        selected = current.ehr_patient_id or NEW
    else:
        selected = found.assessment.suggested or ""
    pr.audit("match-view", reg.entry.patient_id, f"registration {reg.id}")
    return pr.render(
        "registration_match.html",
        {
            "reg": reg,
            "mrn": reg.entry.payload.get("mrn", ""),
            "me": _row(reg.person),
            "found": found,
            "cands": [{"c": c, "person": _row(c.person)} for c in found.assessment.candidates],
            "extra": extra,
            "current": current,
            "current_text": _choice_text(current.ehr_patient_id) if current else "",
            "selected": ctx.pop("selected", selected),
            "history": matches.history(pr.web.store, reg.id),
            "saved": pr.query("saved") == "1",
            "error": None,
            "reason": "",
            "min_reason": matches.MIN_REASON_LENGTH,
            **ctx,
        },
        status,
    )


@page(Permission.REGISTER)
def registration_match(pr: PageRequest) -> Response:
    reg = candidates.registration(pr.web.store, pr.request.path_params["registration_id"])
    if reg is None or reg.entry.drill:
        return not_found(pr, "No downtime registration with this id.")
    if pr.request.method != "POST":
        return _page(pr, reg)
    choice = pr.form.get("choice", "").strip()
    reason = pr.form.get("reason", "")
    if not choice:
        return _page(
            pr, reg, error="Choose an EHR patient or “create new”.", reason=reason, status=400
        )
    target = None if choice == NEW else choice
    if target is not None:
        # only a patient the page showed (a candidate, or the current decision's patient)
        client, why_not = _ehr(pr)
        with client or contextlib.nullcontext():
            found = candidates.find(pr.web.store, reg.person, client, why_not=why_not)
        allowed = {c.patient_id for c in found.assessment.candidates}
        current = matches.decision(pr.web.store, reg.id)
        if current and current.ehr_patient_id:
            allowed.add(current.ehr_patient_id)
        if target not in allowed:
            return _page(
                pr,
                reg,
                error="That patient is not one of the candidates shown.",
                reason=reason,
                status=400,
            )
    try:
        d = matches.decide(
            pr.web.store,
            reg.id,
            ehr_patient_id=target,
            by=pr.user.username,
            reason=reason,
            now=pr.now,
        )
    except matches.DecisionError as e:
        return _page(
            pr,
            reg,
            error=str(e).capitalize() + ".",
            reason=reason,
            selected=choice,
            status=409 if isinstance(e, matches.DecisionFrozen) else 400,
        )
    pr.audit(
        "match-decision",
        reg.entry.patient_id,
        f"registration {reg.id}: {_choice_text(d.ehr_patient_id)} — {d.reason}"[:500],
    )
    return RedirectResponse(f"/registrations/{reg.id}?saved=1", status_code=303)


NAV = [("/registrations", "Registrations", Permission.REGISTER)]


def routes() -> list[BaseRoute]:
    return [
        Route("/registrations", registration_list),
        Route("/registrations/{registration_id}", registration_match, methods=["GET", "POST"]),
    ]
