"""Web pages of the monitor, mounted in the viewer like every page module (`standby.web.app`).

* `GET /monitor` — state, probes, incidents; *Declare EHR downtime* and drills for
  incident commanders.
* `GET /monitor/incidents/{id}` — figures, timeline, role checklist, log, the broadcast
  form and *Confirm end of downtime* (incident commanders); reports as `.md` and `.pdf`.
* `POST /monitor/end` — ends the downtime at once when every checklist item is ticked;
  otherwise it first shows the unticked items with *End the downtime anyway* (which posts
  again with `confirm`) and *Go back*.
* `GET /status.json` — public (no login, no patient data): the state for scripts and
  phones. The public HTML status page is the viewer's `/status`, which shows the same
  `current_status` and this package's banner.
* The downtime banner on every page: `BANNERS` → `templates/monitor/banner.html`.

Handlers hold no SQL (they call `standby.monitor`); they run through the viewer's `page`
guard (login, CSRF and a worker thread). Declaring, ending, broadcasting and drills need
the `incident-commander` (or `admin`) role; anyone logged in may add to the log and tick
the checklist. docs/monitor.md
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts import audit_anchors
from standby.clinical.documentation_times import first_documentation
from standby.monitor import after_action, downtime, drills, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.state import InvalidTransition
from standby.monitor.status import current_status
from standby.web import reconciliation
from standby.web.context import WebContext
from standby.web.guard import PageRequest, page

COMMANDER_ROLES = frozenset({"incident-commander", "admin"})
NAV = [("/monitor", "Downtime", None)]
BANNERS = ["monitor/banner.html"]


def _config(web: WebContext) -> MonitorConfig:
    cfg = getattr(web, "monitor_config", None)  # tests may set one
    return cfg if isinstance(cfg, MonitorConfig) else MonitorConfig.from_settings(web.settings)


def _is_commander(pr: PageRequest) -> bool:
    return bool(set(pr.user.roles) & COMMANDER_ROLES)


def _back(path: str, error: str | None = None) -> Response:
    return RedirectResponse(path + (f"?error={quote(error)}" if error else ""), status_code=303)


def _not_commander(pr: PageRequest) -> Response:
    return pr.forbidden("Only an incident commander may do this.")


# ---- public -----------------------------------------------------------------------------
async def status_json(request: Request) -> Response:
    web: WebContext = request.app.state.web
    s = await run_in_threadpool(current_status, web.store)
    return JSONResponse(
        {
            "state": s.state,
            "label": s.label,
            "since": s.since.isoformat() if s.since else None,
            "drill": s.drill,
            "message": s.message,
            "what_to_do": s.what_to_do,
        },
        headers={"cache-control": "no-store"},
    )


# ---- team pages ---------------------------------------------------------------------------
@page(None)
def dashboard(pr: PageRequest) -> Response:
    store = pr.web.store
    return pr.render(
        "monitor/dashboard.html",
        {
            "latest": probes.latest(store),
            "incidents": incidents.recent(store, 20),
            "commander": _is_commander(pr),
            "error": pr.query("error") or None,
        },
    )


def _documentation(pr: PageRequest, *, per_unit: bool = True) -> after_action.FirstDocumentation:
    """When documentation in Standby began (the journal, read for the monitor's report)."""
    return lambda since, until, drill: first_documentation(
        pr.web.store, since, until, drill=drill, now=pr.now, per_unit=per_unit
    )


@page(None)
def incident_page(pr: PageRequest) -> Response:
    store = pr.web.store
    iid = pr.request.path_params["incident_id"]
    incident = incidents.get(store, iid)
    if incident is None:
        return pr.render("error.html", {"title": "Not found", "message": "No such incident."}, 404)
    report = after_action.build(
        store,
        iid,
        documentation=_documentation(pr, per_unit=False),
        back_entry=lambda: reconciliation.summary(store, pr.now),
    )
    return pr.render(
        "monitor/incident.html",
        {
            "incident": incident,
            "figures": report.figures(),
            "back_entry": report.back_entry,
            "events": report.events,
            "checklist": report.checklist,
            "roles": incidents.ROLES,
            "commander": _is_commander(pr),
            "current": current_status(store).incident_id == iid,
            "error": pr.query("error") or None,
        },
    )


@page(None)
def report_file(pr: PageRequest) -> Response:
    iid = pr.request.path_params["incident_id"]
    fmt = pr.request.path_params["fmt"]
    try:
        report = after_action.build(
            pr.web.store,
            iid,
            audit_head=audit_anchors.head_text(pr.web.store),
            documentation=_documentation(pr),
            back_entry=lambda: reconciliation.summary(pr.web.store, pr.now),
        )
    except KeyError:
        report = None
    if report is None or fmt not in ("md", "pdf"):
        return pr.render("error.html", {"title": "Not found", "message": "No such report."}, 404)
    if fmt == "pdf":
        return Response(
            after_action.pdf(report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{iid}.pdf"'},
        )
    return Response(after_action.markdown(report), media_type="text/markdown; charset=utf-8")


# ---- actions --------------------------------------------------------------------------------
@page(None)
def declare(pr: PageRequest) -> Response:
    if not _is_commander(pr):
        return _not_commander(pr)
    try:
        out = downtime.declare(
            pr.web.store,
            _config(pr.web),
            pr.user.username,
            pr.now,
            reason=pr.form.get("reason", ""),
            message=pr.form.get("message", ""),
        )
    except InvalidTransition as e:
        return _back("/monitor", str(e))
    return _back(f"/monitor/incidents/{out.declared}")


@page(None)
def end(pr: PageRequest) -> Response:
    if not _is_commander(pr):
        return _not_commander(pr)
    iid = current_status(pr.web.store).incident_id
    open_items = [c for c in incidents.checklist(pr.web.store, iid) if not c.done] if iid else []
    if open_items and not pr.form.get("confirm"):
        return pr.render(
            "monitor/end_confirm.html",
            {
                "incident_id": iid,
                "open_items": open_items,
                "message": pr.form.get("message", ""),
            },
        )
    try:
        downtime.confirm_end(
            pr.web.store,
            _config(pr.web),
            pr.user.username,
            pr.now,
            message=pr.form.get("message", ""),
        )
    except InvalidTransition as e:
        return _back("/monitor", str(e))
    return _back(f"/monitor/incidents/{iid}" if iid else "/monitor")


@page(None)
def broadcast(pr: PageRequest) -> Response:
    if not _is_commander(pr):
        return _not_commander(pr)
    downtime.post_message(
        pr.web.store,
        pr.user.username,
        pr.now,
        pr.form.get("text", ""),
        public=bool(pr.form.get("public")),
    )
    iid = current_status(pr.web.store).incident_id
    return _back(f"/monitor/incidents/{iid}" if iid else "/monitor")


@page(None)
def drill_start(pr: PageRequest) -> Response:
    if not _is_commander(pr):
        return _not_commander(pr)
    try:
        drills.start(
            pr.web.store, pr.user.username, pr.now, notify_real=bool(pr.form.get("notify_real"))
        )
    except InvalidTransition as e:
        return _back("/monitor", str(e))
    return _back("/monitor")


@page(None)
def drill_cancel(pr: PageRequest) -> Response:
    if not _is_commander(pr):
        return _not_commander(pr)
    try:
        drills.cancel(pr.web.store, pr.user.username, pr.now)
    except InvalidTransition as e:
        return _back("/monitor", str(e))
    return _back("/monitor")


@page(None)
def add_log(pr: PageRequest) -> Response:
    iid = pr.request.path_params["incident_id"]
    try:
        incidents.add_log_entry(
            pr.web.store, iid, pr.now, pr.user.username, pr.form.get("text", "")
        )
    except KeyError:
        return pr.render("error.html", {"title": "Not found", "message": "No such incident."}, 404)
    except ValueError as e:
        return _back(f"/monitor/incidents/{iid}", str(e))
    return _back(f"/monitor/incidents/{iid}")


@page(None)
def toggle_item(pr: PageRequest) -> Response:
    iid = pr.request.path_params["incident_id"]
    position = int(pr.request.path_params["position"])
    if position >= 2**31:  # past any checklist, and past what the database can compare
        return pr.render("error.html", {"title": "Not found", "message": "No such item."}, 404)
    try:
        incidents.set_item_done(
            pr.web.store,
            iid,
            position,
            pr.form.get("done") == "1",
            pr.user.username,
            pr.now,
        )
    except KeyError:
        return pr.render("error.html", {"title": "Not found", "message": "No such item."}, 404)
    return _back(f"/monitor/incidents/{iid}")


@page(None)
def add_item(pr: PageRequest) -> Response:
    iid = pr.request.path_params["incident_id"]
    try:
        incidents.edit_item(
            pr.web.store,
            iid,
            None,
            pr.form.get("role", ""),
            pr.form.get("item", ""),
            pr.user.username,
            pr.now,
        )
    except ValueError as e:
        return _back(f"/monitor/incidents/{iid}", str(e))
    return _back(f"/monitor/incidents/{iid}")


def routes() -> list[BaseRoute]:
    return [
        Route("/status.json", status_json, name="monitor_status_json"),
        Route("/monitor", dashboard, name="monitor_dashboard"),
        Route("/monitor/declare", declare, methods=["POST"]),
        Route("/monitor/end", end, methods=["POST"]),
        Route("/monitor/broadcast", broadcast, methods=["POST"]),
        Route("/monitor/drill/start", drill_start, methods=["POST"]),
        Route("/monitor/drill/cancel", drill_cancel, methods=["POST"]),
        Route("/monitor/incidents/{incident_id}", incident_page, name="monitor_incident"),
        Route("/monitor/incidents/{incident_id}/report.{fmt}", report_file),
        Route("/monitor/incidents/{incident_id}/log", add_log, methods=["POST"]),
        Route("/monitor/incidents/{incident_id}/checklist", add_item, methods=["POST"]),
        Route(
            "/monitor/incidents/{incident_id}/checklist/{position:int}",
            toggle_item,
            methods=["POST"],
        ),
    ]
