"""`/review…`: back-entry's review queue and the reconciliation report
(docs/recovery.md#review-queue, docs/recovery.md#reconciliation-report).

Roles with `review` (charge nurses for their units' patients; health information staff,
with an account of unit `*`, for every unit; a patient registered during the downtime is
on no unit yet, so only the latter see them). Every form works without JavaScript; every
page and every decision writes an audit line (`review`, `review-decision`,
`reconciliation`).

- `/review`: the conflicts, the rejections and the held registrations, oldest first, each
  with the patient's name, MRN and date of birth;
- `/review/{entry}`: what the clinician entered (in their words, and the FHIR resources
  back-entry would send) beside what the EHR has now (the conflict's target read from the
  EHR with sync's client) or what the EHR answered (the OperationOutcome of a
  rejection); the three decisions: re-send after an edit (a correction entry), entered
  by hand (where, by whom), discard (why);
- `/review/reconciliation` (and `.pdf`, `.csv`): the reconciliation report.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission
from standby.journal import repository as journal
from standby.journal import words
from standby.journal.entries import EntryError
from standby.recovery import appointments, review, state
from standby.recovery.reconciliation import PatientLabel
from standby.recovery.state import BackEntry, Status, TransitionRefused
from standby.reports.pages import HOSPITAL_WIDE
from standby.reports.reconciliation import reconciliation_pdf
from standby.store.base import Store
from standby.sync.http import FhirClient, RetryPolicy
from standby.sync.runner import settings_auth
from standby.web import backentry, reconciliation
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import printing

NAV = [("/review", "Review queue", Permission.REVIEW)]
SECTIONS = (
    (
        Status.CONFLICT,
        "Conflicts",
        "The EHR changed since the clinician saw it: nothing was "
        "overwritten. Compare, then re-send a correction, or record what was done.",
    ),
    (Status.REJECTED, "Rejected", "The EHR refused the entry; its answer is kept."),
    (
        Status.HELD,
        "Held: patients registered during the downtime",
        "Their entries wait for "
        "a registrar to decide who the patient is in the EHR (the registrar's page).",
    ),
)
REBOOKED = "Rebooked appointment (scheduler's accepted new time)"
NOT_YOURS = "This entry's patient is outside your units."
NO_ENTRY = "Back-entry holds no entry with this id."


@dataclass(frozen=True)
class Row:
    b: BackEntry
    what: str
    details: str
    patient: PatientLabel
    author: str


def _labels(pr: PageRequest) -> Any:
    return reconciliation.label_of(pr.web.store, pr.now)


def _allowed(pr: PageRequest, patient_key: str) -> bool:
    """Whether the user reviews this patient's entries: their units (an account of unit
    `*`: every patient, including those registered during the downtime)."""
    if pr.user.all_units:
        return True
    identity = pr.web.summaries.identity(patient_key, pr.now)
    return identity is not None and pr.user.assigned_to(identity.unit_id)


def _row(store: Store, b: BackEntry, label: PatientLabel, zone: Any = None) -> Row:
    if b.kind == appointments.KIND:  # a scheduler's rebooking (docs/schedule.md#write-back)
        return Row(b, REBOOKED, appointments.describe(b, zone), label, "scheduler")
    e = journal.read(store, b.entry_id)
    return Row(
        b,
        words.what(e) if e else b.kind,
        words.details(e) if e else "(not in this node's journal)",
        label,
        (e.author_name or e.author) if e else "",
    )


@page(Permission.REVIEW)
def queue(pr: PageRequest) -> Response:
    store = pr.web.store
    label = _labels(pr)
    sections = []
    patients: set[str] = set()
    hidden = 0
    for status, title, explain in SECTIONS:
        rows = []
        for b in review.queue(store, status):
            if not _allowed(pr, b.patient_key):
                hidden += 1
                continue
            rows.append(_row(store, b, label(b.patient_key), pr.web.zone))
            patients.add(b.patient_key)
        sections.append((status.value, title, explain, rows))
    pr.audit_many("review", sorted(patients), "review queue")
    return pr.render(
        "review.html",
        {"sections": sections, "hidden": hidden, "totals": state.totals(store)},
    )


def _client(pr: PageRequest) -> FhirClient | None:
    s = pr.web.settings
    if not s.source_url:
        return None
    return FhirClient(
        s.source_url,
        auth=settings_auth(s),
        concurrency=1,
        rate=0,
        timeout=min(s.sync_timeout_seconds, 15.0),
        policy=RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0),
    )


def _current(pr: PageRequest, target: str) -> review.Fetched:
    """The conflict's target as the EHR holds it now, or why it cannot be shown."""
    try:
        client = _client(pr)
    except ValueError as err:  # the EHR's credentials are not set up
        return review.Fetched(None, f"cannot ask the EHR: {err}")
    if client is None:
        return review.Fetched(None, "no EHR is configured (STANDBY_SOURCE_URL)")
    with client:
        return review.fetch_current(client, target)


def _pretty(resource: Any) -> str:
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2).decode()


def _entry_page(
    pr: PageRequest,
    entry_id: str,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    store = pr.web.store
    it = review.item(store, entry_id)
    if it is None:
        return not_found(pr, NO_ENTRY)
    b = it.backentry
    if not _allowed(pr, b.patient_key):
        return pr.forbidden(NOT_YOURS)
    label = _labels(pr)(b.patient_key)
    current: review.Fetched | None = None
    seen_version = ""
    target = it.target
    if b.status is Status.CONFLICT and target:
        current = _current(pr, target)
        if current.resource is not None:
            seen_version = str((current.resource.get("meta") or {}).get("versionId") or "")
    pr.audit("review", b.patient_key, f"{b.status.value} {entry_id}")
    e = it.entry
    rebooked = b.kind == appointments.KIND
    return pr.render(
        "review_entry.html",
        {
            "it": it,
            "b": b,
            "e": e,
            "label": label,
            "what": REBOOKED if rebooked else (words.what(e) if e else b.kind),
            "details": appointments.describe(b, pr.web.zone)
            if rebooked
            else (words.details(e) if e else ""),
            "rebooked": rebooked,
            "sent": [_pretty(r) for r in it.sent()],
            "outcome": _pretty(b.outcome) if b.outcome else "",
            "target": target,
            "current": current,
            "current_json": _pretty(current.resource) if current and current.resource else "",
            "seen_version": seen_version,
            "fields": fields if fields is not None else (review.editable(e) if e else {}),
            "form": form or {},
            "correction_id": (form or {}).get("correction_id") or str(uuid.uuid4()),
            "error": error,
            "events": state.events(store, entry_id),
            "resendable": b.status in (Status.CONFLICT, Status.REJECTED),
            "decidable": b.status in review.QUEUE,
        },
        status,
    )


@page(Permission.REVIEW)
def entry(pr: PageRequest) -> Response:
    return _entry_page(pr, pr.request.path_params["entry_id"])


def _decide(pr: PageRequest) -> tuple[str, BackEntry] | Response:
    entry_id = pr.request.path_params["entry_id"]
    b = state.get(pr.web.store, entry_id)
    if b is None:
        return not_found(pr, NO_ENTRY)
    if not _allowed(pr, b.patient_key):
        return pr.forbidden(NOT_YOURS)
    return entry_id, b


def _done(entry_id: str, what: str) -> Response:
    return RedirectResponse(f"/review?done={what}&entry={entry_id}", 303)


@page(Permission.REVIEW)
def resend(pr: PageRequest) -> Response:
    got = _decide(pr)
    if isinstance(got, Response):
        return got
    entry_id, b = got
    fields = {k.removeprefix("field_"): v for k, v in pr.form.items() if k.startswith("field_")}
    who = review.Reviewer(
        pr.user.username,
        pr.user.display_name or pr.user.username,
        pr.user.role,
        pr.web.settings.node_name or socket.gethostname(),
    )
    try:
        correction = review.resend_after_edit(
            pr.web.store,
            entry_id,
            fields,
            pr.form.get("reason", ""),
            who,
            pr.now,
            correction_id=_uuid(pr.form.get("correction_id", "")),
            seen_version=pr.form.get("seen_version", "") or None,
        )
    except (EntryError, review.ReviewError, TransitionRefused) as e:
        return _entry_page(
            pr, entry_id, error=str(e), form=dict(pr.form), fields=fields, status=400
        )
    pr.audit(
        "review-decision",
        b.patient_key,
        f"re-sent {entry_id} ({b.status.value}) as correction {correction.id}: "
        f"{pr.form.get('reason', '').strip()}",
    )
    return _done(entry_id, "resent")


@page(Permission.REVIEW)
def by_hand(pr: PageRequest) -> Response:
    got = _decide(pr)
    if isinstance(got, Response):
        return got
    entry_id, b = got
    where = pr.form.get("where", "")
    try:
        review.entered_by_hand(pr.web.store, entry_id, where, pr.user.username, pr.now)
    except (review.ReviewError, TransitionRefused) as e:
        return _entry_page(pr, entry_id, error=str(e), form=dict(pr.form), status=400)
    pr.audit("review-decision", b.patient_key, f"entered by hand {entry_id}: {where.strip()}")
    return _done(entry_id, "entered-by-hand")


@page(Permission.REVIEW)
def discard(pr: PageRequest) -> Response:
    got = _decide(pr)
    if isinstance(got, Response):
        return got
    entry_id, b = got
    reason = pr.form.get("discard_reason", "")
    try:
        review.discard(pr.web.store, entry_id, reason, pr.user.username, pr.now)
    except (review.ReviewError, TransitionRefused) as e:
        return _entry_page(pr, entry_id, error=str(e), form=dict(pr.form), status=400)
    pr.audit("review-decision", b.patient_key, f"discarded {entry_id}: {reason.strip()}")
    return _done(entry_id, "discarded")


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


# ---- the reconciliation report ---------------------------------------------------------------
def _report_page(pr: PageRequest, *, error: str = "", status: int = 200) -> Response:
    rec = reconciliation.build(pr.web.store, pr.now)
    runner = backentry.runner_of(pr.request.app.state)
    pr.audit("reconciliation", None, f"page ({len(rec.remaining)} remaining)")
    return pr.render(
        "review_report.html",
        {
            "rec": rec,
            "sheet": reconciliation.sheet(rec, pr.web.zone),
            "may_file": pr.user.role in backentry.ROLES,
            "running": runner.running,
            "last_run": runner.last,
            "refusal": runner.refusal(pr.web.store, pr.web.settings),
            "error": error,
        },
        status,
    )


@page(Permission.REVIEW)
def report(pr: PageRequest) -> Response:
    return _report_page(pr)


@page(Permission.REVIEW)
def file_now(pr: PageRequest) -> Response:
    """Start back-entry (`standby recover run`) in the background: incident commander or
    health information staff, once the downtime has ended, one run at a time."""
    if pr.user.role not in backentry.ROLES:
        return pr.forbidden(
            "Back-entry is started by the incident commander or health information staff."
        )
    runner = backentry.runner_of(pr.request.app.state)
    who = pr.user.display_name or pr.user.username
    why = runner.start(pr.web.store, pr.web.settings, who, pr.now)
    if why:
        pr.audit("back-entry", None, f"refused: {why}")
        return _report_page(pr, error=f"Back-entry did not start: {why}.", status=409)
    pr.audit("back-entry", None, "started from the reconciliation page")
    return RedirectResponse("/review/reconciliation?started=1", 303)


@page(Permission.REVIEW)
def report_pdf(pr: PageRequest) -> Response:
    rec = reconciliation.build(pr.web.store, pr.now)
    pr.audit("reconciliation", None, f"pdf ({len(rec.remaining)} remaining)")
    pdf = reconciliation_pdf(
        reconciliation.sheet(rec, pr.web.zone), printing.furniture(pr, HOSPITAL_WIDE)
    )
    return printing.pdf_response(pdf, "back-entry-reconciliation.pdf")


@page(Permission.REVIEW)
def report_csv(pr: PageRequest) -> Response:
    rec = reconciliation.build(pr.web.store, pr.now)
    pr.audit("reconciliation", None, f"csv ({len(rec.remaining)} remaining)")
    return Response(
        reconciliation.csv_text(rec, pr.web.zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="back-entry-reconciliation.csv"'},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/review", queue),
        Route("/review/reconciliation", report),
        Route("/review/reconciliation.pdf", report_pdf),
        Route("/review/reconciliation.csv", report_csv),
        Route("/review/reconciliation/file", file_now, methods=["POST"]),
        Route("/review/{entry_id}", entry),
        Route("/review/{entry_id}/resend", resend, methods=["POST"]),
        Route("/review/{entry_id}/entered-by-hand", by_hand, methods=["POST"]),
        Route("/review/{entry_id}/discard", discard, methods=["POST"]),
    ]
