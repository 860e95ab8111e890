"""Web pages of the monitor: the public status page, the downtime dashboard, incident pages.

* `GET /status`, `GET /status.json` — public (no login), no patient data: state, since,
  what to do, the incident commander's latest public message.
* `GET /monitor` — state, probes, incidents; *Declare EHR downtime* and drills for
  incident commanders.
* `GET /monitor/incidents/{id}` — figures, timeline, role checklist, log, the broadcast
  form and *Confirm end of downtime* (incident commanders); reports as `.md` and `.pdf`.
* `POST` actions for each of those forms.

Handlers hold no SQL: they call `standby.monitor`. docs/monitor.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from standby.monitor import after_action, downtime, drills, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.state import InvalidTransition
from standby.monitor.status import current_status
from standby.monitor.timeutil import utcnow
from standby.store.base import Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
COMMANDER_ROLES = frozenset({"incident-commander", "admin"})
PUBLIC_PATHS = ("/status", "/status.json")


# ---- what the app provides (adapters to standby.web.app) --------------------------------
def _web(request: Request) -> Any:
    """The viewer's `WebContext` (standby.web.context), when running inside its app."""
    return getattr(request.app.state, "web", None)


def _store(request: Request) -> Store:
    web = _web(request)
    return web.store if web is not None else request.app.state.store


def _config(request: Request) -> MonitorConfig:
    cfg = getattr(request.app.state, "monitor_config", None)
    if isinstance(cfg, MonitorConfig):
        return cfg
    web = _web(request)
    settings = web.settings if web is not None else getattr(request.app.state, "settings", None)
    return MonitorConfig() if settings is None else MonitorConfig.from_settings(settings)


def _user(request: Request) -> str | None:
    user = getattr(request.state, "user", None) or request.scope.get("user")
    if user is None:
        return None
    name = getattr(user, "username", None) or getattr(user, "name", None) or user
    return str(name)


def _roles(request: Request) -> set[str]:
    user = getattr(request.state, "user", None) or request.scope.get("user")
    roles = set(getattr(user, "roles", None) or ())
    role = getattr(user, "role", None)
    if role:
        roles.add(role)
    return {str(r) for r in roles}


def _is_commander(request: Request) -> bool:
    return bool(_roles(request) & COMMANDER_ROLES)


def _csrf_field(request: Request) -> str:
    token = getattr(request.state, "csrf_token", None)
    return "" if token is None else f'<input type="hidden" name="csrf_token" value="{token}">'


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    ctx = {
        "downtime": current_status(_store(request)),
        "user": _user(request),
        "commander": _is_commander(request),
        "csrf_field": _csrf_field(request),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)


def _forbidden(request: Request) -> Response:
    return Response("Only an incident commander may do this.", status_code=403)


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# ---- public -----------------------------------------------------------------------------
async def status_page(request: Request) -> Response:
    s = current_status(_store(request))
    return TEMPLATES.TemplateResponse(
        request, "monitor/status.html", {"downtime": s, "now": utcnow()}
    )


async def status_json(request: Request) -> Response:
    s = current_status(_store(request))
    return JSONResponse(
        {
            "state": s.state,
            "label": s.label,
            "since": s.since.isoformat() if s.since else None,
            "drill": s.drill,
            "message": s.message,
            "what_to_do": s.what_to_do,
        }
    )


# ---- team pages ---------------------------------------------------------------------------
async def dashboard(request: Request) -> Response:
    store = _store(request)
    return _page(
        request,
        "monitor/dashboard.html",
        {
            "latest": probes.latest(store),
            "incidents": incidents.recent(store, 20),
            "error": request.query_params.get("error"),
        },
    )


async def incident_page(request: Request) -> Response:
    store = _store(request)
    iid = request.path_params["incident_id"]
    incident = incidents.get(store, iid)
    if incident is None:
        return Response("No such incident.", status_code=404)
    report = after_action.build(store, iid)
    return _page(
        request,
        "monitor/incident.html",
        {
            "incident": incident,
            "figures": report.figures(),
            "events": report.events,
            "checklist": report.checklist,
            "roles": incidents.ROLES,
            "current": current_status(store).incident_id == iid,
            "error": request.query_params.get("error"),
        },
    )


async def report_file(request: Request) -> Response:
    iid = request.path_params["incident_id"]
    try:
        report = after_action.build(_store(request), iid)
    except KeyError:
        return Response("No such incident.", status_code=404)
    fmt = request.path_params["fmt"]
    if fmt not in ("md", "pdf"):
        return Response("Reports are .md or .pdf.", status_code=404)
    if fmt == "pdf":
        return Response(
            after_action.pdf(report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{iid}.pdf"'},
        )
    return Response(after_action.markdown(report), media_type="text/markdown; charset=utf-8")


# ---- actions --------------------------------------------------------------------------------
async def declare(request: Request) -> Response:
    if not _is_commander(request):
        return _forbidden(request)
    form = await request.form()
    try:
        out = downtime.declare(
            _store(request),
            _config(request),
            _user(request) or "?",
            utcnow(),
            reason=str(form.get("reason", "")),
            message=str(form.get("message", "")),
        )
    except InvalidTransition as e:
        return _back(f"/monitor?error={e}")
    return _back(f"/monitor/incidents/{out.declared}")


async def end(request: Request) -> Response:
    if not _is_commander(request):
        return _forbidden(request)
    form = await request.form()
    iid = current_status(_store(request)).incident_id
    try:
        downtime.confirm_end(
            _store(request),
            _config(request),
            _user(request) or "?",
            utcnow(),
            message=str(form.get("message", "")),
        )
    except InvalidTransition as e:
        return _back(f"/monitor?error={e}")
    return _back(f"/monitor/incidents/{iid}" if iid else "/monitor")


async def broadcast(request: Request) -> Response:
    if not _is_commander(request):
        return _forbidden(request)
    form = await request.form()
    downtime.post_message(
        _store(request),
        _user(request) or "?",
        utcnow(),
        str(form.get("text", "")),
        public=bool(form.get("public")),
    )
    iid = current_status(_store(request)).incident_id
    return _back(f"/monitor/incidents/{iid}" if iid else "/monitor")


async def drill_start(request: Request) -> Response:
    if not _is_commander(request):
        return _forbidden(request)
    form = await request.form()
    try:
        drills.start(
            _store(request),
            _user(request) or "?",
            utcnow(),
            notify_real=bool(form.get("notify_real")),
        )
    except InvalidTransition as e:
        return _back(f"/monitor?error={e}")
    return _back("/monitor")


async def drill_cancel(request: Request) -> Response:
    if not _is_commander(request):
        return _forbidden(request)
    try:
        drills.cancel(_store(request), _user(request) or "?", utcnow())
    except InvalidTransition as e:
        return _back(f"/monitor?error={e}")
    return _back("/monitor")


async def add_log(request: Request) -> Response:
    iid = request.path_params["incident_id"]
    form = await request.form()
    try:
        incidents.add_log_entry(
            _store(request), iid, utcnow(), _user(request) or "?", str(form.get("text", ""))
        )
    except KeyError:
        return Response("No such incident.", status_code=404)
    except ValueError as e:
        return _back(f"/monitor/incidents/{iid}?error={e}")
    return _back(f"/monitor/incidents/{iid}")


async def toggle_item(request: Request) -> Response:
    iid = request.path_params["incident_id"]
    form = await request.form()
    try:
        incidents.set_item_done(
            _store(request),
            iid,
            int(request.path_params["position"]),
            form.get("done") == "1",
            _user(request) or "?",
            utcnow(),
        )
    except KeyError:
        return Response("No such checklist item.", status_code=404)
    return _back(f"/monitor/incidents/{iid}")


async def add_item(request: Request) -> Response:
    iid = request.path_params["incident_id"]
    form = await request.form()
    try:
        incidents.edit_item(
            _store(request),
            iid,
            None,
            str(form.get("role", "")),
            str(form.get("item", "")),
            _user(request) or "?",
            utcnow(),
        )
    except ValueError as e:
        return _back(f"/monitor/incidents/{iid}?error={e}")
    return _back(f"/monitor/incidents/{iid}")


def routes() -> list[Route]:
    return [
        Route("/status", status_page, name="monitor_status"),
        Route("/status.json", status_json, name="monitor_status_json"),
        Route("/monitor", dashboard, name="monitor_dashboard"),
        Route("/monitor/declare", declare, methods=["POST"]),
        Route("/monitor/end", end, methods=["POST"]),
        Route("/monitor/broadcast", broadcast, methods=["POST"]),
        Route("/monitor/drill/start", drill_start, methods=["POST"]),
        Route("/monitor/drill/cancel", drill_cancel, methods=["POST"]),
        Route("/monitor/incidents/{incident_id}", incident_page, name="monitor_incident"),
        Route("/monitor/incidents/{incident_id}/report.{fmt:str}", report_file),
        Route("/monitor/incidents/{incident_id}/log", add_log, methods=["POST"]),
        Route("/monitor/incidents/{incident_id}/checklist", add_item, methods=["POST"]),
        Route(
            "/monitor/incidents/{incident_id}/checklist/{position:int}",
            toggle_item,
            methods=["POST"],
        ),
    ]
