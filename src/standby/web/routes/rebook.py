"""`/schedules/rebook`: new times for the postponed surgeries and visits, proposed by the
CP-SAT optimizer (beside greedy's figure), shown per room; the scheduler accepts all or
some. Accepted placements are checked again (no double booking against what is booked
now) and stored (`schedule_accepted`), each audited `schedule-decision`. Once the incident
commander has ended the downtime, "Send accepted to the EHR" writes them back as Appointment updates
through back-entry (`recovery.appointments`); the list shows each one's state there
(docs/schedule.md#write-back)."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clock
from standby.accounts.roles import Permission
from standby.fhir import display as d
from standby.monitor.status import current_status
from standby.recovery import appointments
from standby.recovery.state import Status
from standby.schedule import repository as repo
from standby.schedule.rebook import Placement, greedy, violations
from standby.schedule.rebook_cpsat import solve
from standby.schedule.rebook_replica import ReplicaProblem, build, calendar
from standby.schedule.rules import RulesError
from standby.sync.http import FhirClient, RetryPolicy
from standby.sync.runner import settings_auth
from standby.web.guard import PageRequest, page
from standby.web.routes.triage import _rules_broken, rules_of, triaged

MAX_SECONDS = 30.0


def _not_before(pr: PageRequest) -> datetime | None:
    text = pr.form.get("not_before", "") or pr.query("not_before")
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
        t = t if t.tzinfo else t.replace(tzinfo=pr.web.zone)
        t.astimezone(UTC)  # year 1 or 9999 in a zone may not fit in UTC
    except (ValueError, OverflowError):
        raise repo.RecordError("not_before", "is not a date or a date and time") from None
    if not pr.now - timedelta(days=1) <= t <= pr.now + timedelta(days=366):
        raise repo.RecordError("not_before", "must be within a year from now")
    return t


def _number(pr: PageRequest, name: str, default: float, lo: float, hi: float) -> float:
    try:
        return max(lo, min(hi, float(pr.form.get(name) or default)))
    except ValueError:
        return default


def _problem(pr: PageRequest) -> ReplicaProblem | Response:
    try:
        rules = rules_of(pr)
    except RulesError as e:
        return _rules_broken(pr, e)
    rows = triaged(pr, rules.horizon_hours, rules)
    return build(
        pr.web.store,
        rows,
        repo.calls(pr.web.store),
        pr.now,
        pr.web.zone,
        days=int(_number(pr, "days", 14, 1, 28)),
        not_before=_not_before(pr),
        window_hours=rules.horizon_hours,
    )


@page(Permission.TRIAGE)
def rebook(pr: PageRequest) -> Response:
    context: dict[str, object] = {
        "form": pr.form,
        "error": None,
        "proposal": None,
        "stored": 0,
    }
    if pr.request.method == "POST":
        try:
            rp = _problem(pr)
        except repo.RecordError as e:
            context["error"] = str(e)
            return _shown(pr, context, 400)
        if isinstance(rp, Response):
            return rp
        if pr.form.get("action") == "accept":
            return _accept(pr, rp, context)
        g = greedy(rp.problem)
        s = solve(rp.problem, seconds=_number(pr, "seconds", 10, 1, MAX_SECONDS), hint=g)
        ids = [i.patient.id for i in rp.items.values() if i.patient.id]
        pr.audit_many("schedule", ids, "rebooking proposal")
        context.update(
            proposal=s,
            greedy=g,
            rp=rp,
            rooms=calendar(rp, s.placements.values()),
            unplaced=[rp.items[c.id] for c in rp.problem.cases if c.id not in s.placements],
            proposal_id=str(uuid.uuid4()),
        )
    return _shown(pr, context)


def _shown(pr: PageRequest, context: dict[str, object], status: int = 200) -> Response:
    """The page, with the accepted placements' patients named by two identifiers and each
    one's state in the EHR."""
    accepted = repo.accepted(pr.web.store)
    who = {a.patient_id: _patient(pr, a.patient_id) for a in accepted}
    rooms = {a.room_id: _room(pr, a.room_id) for a in accepted}
    in_ehr = appointments.statuses(pr.web.store, [a.key for a in accepted])
    replaced = {a.seq for a in accepted} - {
        a.seq for a in {x.appointment_id: x for x in accepted}.values()
    }
    ehr = {a.seq: _ehr_state(in_ehr.get(a.key), a.seq in replaced) for a in accepted}
    pr.audit_many("schedule", [a.patient_id for a in accepted if a.patient_id], "accepted")
    context.update(accepted=accepted, who=who, room_names=rooms, ehr=ehr)
    context.setdefault("sent", None)
    return pr.render("schedule_rebook.html", context, status)


def _ehr_state(status: Status | None, replaced: bool) -> str:
    """accepted / sent / confirmed / conflict … for the page's EHR column."""
    if status is None:
        return "replaced by a later acceptance" if replaced else "accepted"
    return {
        Status.PENDING: "accepted",
        Status.SENT: "sent",
        Status.CONFIRMED: "confirmed",
        Status.CONFLICT: "conflict",
        Status.REJECTED: "rejected",
    }.get(status, status.value)


def _why_not_yet(pr: PageRequest) -> str | None:
    """Why write-back may not start now (the rule of `standby recover run`)."""
    st = current_status(pr.web.store)
    if st.state in ("downtime", "recovering"):
        return (
            f"The downtime is not over (state: {st.state}): the accepted times are sent "
            "once the incident commander ends it."
        )
    if st.ended_at is None:
        return (
            "No downtime has been ended on this replica: the accepted times are sent once "
            "the incident commander ends one."
        )
    return None


@page(Permission.TRIAGE)
def writeback(pr: PageRequest) -> Response:
    """ "Send accepted to the EHR": the accepted placements as Appointment updates, once."""
    context: dict[str, object] = {"form": {}, "error": None, "proposal": None, "stored": 0}
    why = _why_not_yet(pr)
    settings = pr.web.settings
    if why is None and not settings.source_url:
        why = "No EHR is configured (STANDBY_SOURCE_URL): nothing can be sent."
    if why:
        context["error"] = why
        return _shown(pr, context, 409)
    todo = repo.to_write_back(pr.web.store)
    try:
        client = FhirClient(
            settings.source_url or "",
            auth=settings_auth(settings),
            concurrency=1,
            rate=settings.recovery_rate,
            timeout=min(settings.sync_timeout_seconds, 15.0),
            policy=RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=2.0),
        )
    except ValueError as e:  # the EHR's credentials are not set up
        context["error"] = f"Cannot ask the EHR: {e}"
        return _shown(pr, context, 409)
    store = pr.web.store
    with client:
        result = appointments.write_back(
            store,
            client,
            todo,
            node=settings.node_name or socket.gethostname(),
            on_confirmed=lambda r: repo.mark_written_back(store, r.seq, clock.now()),
        )
    for key in (*result.confirmed, *result.conflict, *result.rejected):
        a = next(x for x in todo if x.key == key)
        pr.audit(
            "schedule-decision",
            a.patient_id or None,
            f"{a.appointment_id}: write-back to the EHR "
            + (
                "confirmed"
                if key in result.confirmed
                else "conflict"
                if key in result.conflict
                else "rejected"
            ),
        )
    context["sent"] = result
    if result.stopped:
        context["error"] = f"The EHR stopped answering: {result.stopped}. Send again later."
    return _shown(pr, context)


def _room(pr: PageRequest, key: str) -> str:
    """ "OR 3", or "Cardiology Clinic" for a clinician's room in a clinic ("clinic#dr")."""
    loc = key.partition("#")[0]
    sr = pr.web.store.read("Location", loc) if loc else None
    return str(sr.json().get("name") or loc) if sr is not None and not sr.deleted else loc


def _patient(pr: PageRequest, pid: str) -> tuple[str, str, str]:
    sr = pr.web.store.read("Patient", pid) if pid else None
    if sr is None or sr.deleted:
        return ("patient not in Standby's copy", "DOB unknown", "—")
    p = sr.json()
    birth = d.parse_date(p.get("birthDate"))
    return (
        d.human_name(p.get("name"))[0] or "(no name recorded)",
        birth.isoformat() if birth else "DOB unknown",
        d.mrn(p) or "no MRN recorded",
    )


def _version(pr: PageRequest, appointment_id: str) -> str | None:
    """The Appointment's version in the replica now: the one the proposal was made from,
    and the one write-back sends `If-Match` on."""
    sr = pr.web.store.read("Appointment", appointment_id)
    return sr.version_id if sr is not None and not sr.deleted else None


def _accept(pr: PageRequest, rp: ReplicaProblem, context: dict[str, object]) -> Response:
    """Store the ticked placements, after checking them against what is booked now."""
    chosen: dict[str, Placement] = {}
    for key, value in pr.form.items():
        if not key.startswith("take:"):
            continue
        cid = key.removeprefix("take:")
        room, _, start = value.partition("@")
        case = next((c for c in rp.problem.cases if c.id == cid), None)
        try:
            minute = int(start)
        except ValueError:
            case = None
        if case is None:
            context["error"] = "A ticked case is no longer postponed: propose again."
            return _shown(pr, context, 409)
        chosen[cid] = Placement(cid, room, minute, minute + case.minutes)
    if not chosen:
        context["error"] = "Tick at least one case to accept."
        return _shown(pr, context, 400)
    wrong = violations(rp.problem, chosen)
    if wrong:
        context["error"] = "Not stored — the schedule changed: " + "; ".join(wrong[:3])
        return _shown(pr, context, 409)
    proposal = pr.form.get("proposal_id", "") or str(uuid.uuid4())
    stored = repo.accept(
        pr.web.store,
        [
            repo.AcceptedPlacement(
                proposal,
                pl.case,
                rp.items[pl.case].patient.id,
                pl.room,
                rp.items[pl.case].provider.id,
                rp.at(pl.start),
                rp.at(pl.end),
                _version(pr, pl.case),
            )
            for pl in chosen.values()
        ],
        pr.user.username,
        pr.now,
    )
    for pl in chosen.values():
        item = rp.items[pl.case]
        pr.audit(
            "schedule-decision",
            item.patient.id or None,
            f"{pl.case}: accepted new time {rp.at(pl.start).isoformat()} in "
            f"{rp.rooms.get(pl.room, pl.room)} (was {item.start.isoformat()})",
        )
    context["stored"] = stored
    return _shown(pr, context)


NAV: list[tuple[str, str, Permission | None]] = []


def routes() -> list[BaseRoute]:
    return [
        Route("/schedules/rebook", rebook, methods=["GET", "POST"]),
        Route("/schedules/rebook/writeback", writeback, methods=["POST"]),
    ]
