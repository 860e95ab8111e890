"""`/schedules/triage` (every surgery and visit of the next hours with its triage decision
and reasons), `/schedules/triage/{appointment}` (one case: reasons, the history of its
overrides, the form to override with a reason) and `/schedules/or-desk` (rooms closed and
staff away, entered by the OR desk). docs/schedule.md. Each patient shown is audited
(`schedule`); each override and OR desk entry writes `schedule-decision`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission
from standby.fhir import display as d
from standby.monitor import probes
from standby.schedule import repository as repo
from standby.schedule.items import Item, items_in_window
from standby.schedule.rules import DECISIONS, Rules, RulesError, default_rules, load_rules_file
from standby.schedule.triage import SystemsSeen, Triaged, counts, system_states, triage
from standby.store.base import Store
from standby.web import header
from standby.web.guard import PageRequest, not_found, page

MAX_HOURS = 24 * 14


def rules_of(pr: PageRequest) -> Rules:
    path: Path | None = getattr(pr.web.settings, "schedule_rules", None)
    return load_rules_file(path) if path else default_rules()


def systems_seen(store: Store) -> SystemsSeen:
    """What the monitor sees now: failed probes, probes that reported, EHR downtime (a
    real one: a drill postpones no real patient's surgery, nor puts them on a call list)."""
    try:
        latest = probes.latest(store)
    except Exception:  # the monitor's tables are not there: nothing reported
        latest = []
    status = header.downtime_status(store)
    return SystemsSeen(
        failed=frozenset(p.probe for p in latest if p.outcome == "failed"),
        reported=frozenset(p.probe for p in latest),
        ehr_down=bool(status and status.in_downtime and not status.drill),
    )


def hours_of(pr: PageRequest, rules: Rules) -> int:
    try:
        return max(1, min(MAX_HOURS, int(pr.query("hours") or rules.horizon_hours)))
    except ValueError:
        return rules.horizon_hours


def triaged(pr: PageRequest, hours: int, rules: Rules) -> list[Triaged]:
    store = pr.web.store
    items = items_in_window(store, pr.now, pr.now + timedelta(hours=hours))
    return triage(
        items,
        rules,
        systems_seen(store),
        repo.unavailable(store, pr.now),
        repo.overrides(store),
    )


def _rules_broken(pr: PageRequest, e: RulesError) -> Response:
    return pr.render(
        "error.html",
        {
            "title": "The triage rules cannot be read",
            "message": f"{e} — fix the file named by STANDBY_SCHEDULE_RULES (docs/schedule.md).",
        },
        500,
    )


@page(Permission.TRIAGE)
def triage_list(pr: PageRequest) -> Response:
    try:
        rules = rules_of(pr)
    except RulesError as e:
        return _rules_broken(pr, e)
    hours = hours_of(pr, rules)
    rows = triaged(pr, hours, rules)
    shown = pr.query("show")
    if shown == "moves":
        rows = [r for r in rows if r.moves]
    elif shown in DECISIONS:
        rows = [r for r in rows if r.decision == shown]
    kind = pr.query("kind")
    if kind in ("surgery", "visit"):
        rows = [r for r in rows if r.item.kind == kind]
    pr.audit_many("schedule", [r.item.patient.id for r in rows if r.item.patient.id], "triage")
    return pr.render(
        "schedule_triage.html",
        {
            "rows": rows,
            "counts": counts(rows),
            "hours": hours,
            "show": shown,
            "kind": kind,
            "states": system_states(rules, systems_seen(pr.web.store)).values(),
            "rules_source": rules.source,
            "decisions": DECISIONS,
        },
    )


def _one(pr: PageRequest, rules: Rules) -> Triaged | None:
    appt = pr.request.path_params["appointment_id"]
    sr = pr.web.store.read("Appointment", appt)
    if sr is None or sr.deleted:
        return None
    start = pr.now - timedelta(days=1)
    s = d.parse_instant(sr.json().get("start"))
    if s is None:
        return None
    items: list[Item] = [
        i for i in items_in_window(pr.web.store, s, s + timedelta(seconds=1)) if i.id == appt
    ]
    if not items or items[0].end < start:
        return None
    store = pr.web.store
    [row] = triage(
        items, rules, systems_seen(store), repo.unavailable(store, pr.now), repo.overrides(store)
    )
    return row


@page(Permission.TRIAGE)
def triage_case(pr: PageRequest) -> Response:
    try:
        rules = rules_of(pr)
    except RulesError as e:
        return _rules_broken(pr, e)
    row = _one(pr, rules)
    if row is None:
        return not_found(pr, "No surgery or visit with this id in Standby's copy.")
    error = None
    if pr.request.method == "POST":
        try:
            repo.record_override(
                pr.web.store,
                row.item.id,
                row.item.patient.id,
                pr.form.get("decision", ""),
                row.by_rules,
                pr.form.get("reason", ""),
                pr.user.username,
                pr.now,
            )
        except repo.RecordError as e:
            error = str(e)
        else:
            pr.audit(
                "schedule-decision",
                row.item.patient.id or None,
                f"{row.item.id}: rules {row.by_rules} → {pr.form['decision']}: "
                f"{pr.form['reason'].strip()}",
            )
            return RedirectResponse(f"/schedules/triage/{row.item.id}?saved=1", status_code=303)
    pr.audit("schedule", row.item.patient.id or None, f"triage {row.item.id}")
    return pr.render(
        "schedule_triage_case.html",
        {
            "r": row,
            "history": repo.override_history(pr.web.store, row.item.id),
            "decisions": DECISIONS,
            "error": error,
            "form": pr.form,
            "saved": pr.query("saved") == "1",
        },
        400 if error else 200,
    )


def _local(pr: PageRequest, text: str, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(text)
        aware = naive if naive.tzinfo else naive.replace(tzinfo=pr.web.zone)
        aware.astimezone(UTC)  # year 1 or 9999 in a zone may not fit in UTC
    except (ValueError, OverflowError):
        raise repo.RecordError(field, "is not a date and time") from None
    return aware


def _resources(pr: PageRequest) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Rooms and people of the coming two weeks' cases, to choose from (by name)."""
    items = items_in_window(pr.web.store, pr.now - timedelta(hours=12), pr.now + timedelta(days=14))
    rooms = {i.place_id: i.place for i in items if i.kind == "surgery" and i.place_id}
    people = {p.id: p.name for i in items for p in (i.provider, *i.others) if p.id}
    by_name = sorted
    return by_name(rooms.items(), key=lambda x: x[1]), by_name(people.items(), key=lambda x: x[1])


@page(Permission.TRIAGE)
def or_desk(pr: PageRequest) -> Response:
    store = pr.web.store
    rooms, people = _resources(pr)
    error = None
    if pr.request.method == "POST":
        try:
            if pr.form.get("withdraw"):
                repo.withdraw_unavailable(store, pr.form["withdraw"], pr.user.username, pr.now)
                pr.audit("schedule-decision", None, f"OR desk: withdrew {pr.form['withdraw']}")
            else:
                kind = pr.form.get("kind", "")
                rid = pr.form.get("room" if kind == "room" else "person", "")
                names = dict(rooms if kind == "room" else people)
                if rid not in names:
                    raise repo.RecordError("resource", "choose a room or a person from the list")
                u = repo.add_unavailable(
                    store,
                    kind,
                    rid,
                    names[rid],
                    _local(pr, pr.form.get("start", ""), "start"),
                    _local(pr, pr.form.get("end", ""), "end"),
                    pr.form.get("note", ""),
                    pr.user.username,
                    pr.now,
                )
                pr.audit(
                    "schedule-decision",
                    None,
                    f"OR desk: {u.name} {'closed' if kind == 'room' else 'away'} "
                    f"{u.start.isoformat()}–{u.end.isoformat()} {u.note}".strip(),
                )
            return RedirectResponse("/schedules/or-desk?saved=1", status_code=303)
        except repo.RecordError as e:
            error = str(e)
    return pr.render(
        "schedule_or_desk.html",
        {
            "entries": repo.unavailable(store, pr.now),
            "rooms": rooms,
            "people": people,
            "error": error,
            "form": pr.form,
            "saved": pr.query("saved") == "1",
        },
        400 if error else 200,
    )


NAV = [("/schedules/triage", "Triage", Permission.TRIAGE)]


def routes() -> list[BaseRoute]:
    return [
        Route("/schedules/triage", triage_list),
        Route("/schedules/triage/{appointment_id}", triage_case, methods=["GET", "POST"]),
        Route("/schedules/or-desk", or_desk, methods=["GET", "POST"]),
    ]
