"""Admin pages: audit search and CSV export, the break-the-glass list, the users list
(docs/web.md#admin). Read-only: the audit log has no edit or delete path."""

from __future__ import annotations

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from standby.accounts import repository as repo
from standby.accounts.records import AuditQuery
from standby.accounts.roles import DESCRIPTIONS, Permission
from standby.web import audit
from standby.web.guard import PageRequest, page


def _query(pr: PageRequest) -> AuditQuery:
    def opt(name: str) -> str | None:
        return pr.query(name) or None

    try:
        limit = max(1, min(5000, int(pr.query("limit", "500"))))
    except ValueError:
        limit = 500
    return AuditQuery(
        username=opt("user"),
        patient_id=opt("patient"),
        action=opt("action"),
        since=opt("since"),
        until=opt("until"),
        limit=limit,
    )


@page(Permission.AUDIT)
def audit_page(pr: PageRequest) -> Response:
    q = _query(pr)
    events = repo.search_audit(pr.web.store, q)
    return pr.render(
        "admin_audit.html",
        {"q": q, "events": events, "csv_query": pr.request.url.query},
    )


@page(Permission.AUDIT)
def audit_csv(pr: PageRequest) -> Response:
    q = _query(pr)
    pr.audit("export", None, f"audit CSV {pr.request.url.query}")
    rows = audit.csv_rows(pr.web.store, q)
    return StreamingResponse(
        iterate_in_threadpool(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="standby-audit.csv"'},
    )


@page(Permission.AUDIT)
def break_glass_page(pr: PageRequest) -> Response:
    return pr.render("admin_break_glass.html", {"accesses": repo.list_break_glass(pr.web.store)})


@page(Permission.USERS)
def users_page(pr: PageRequest) -> Response:
    return pr.render(
        "admin_users.html", {"users": repo.list_users(pr.web.store), "roles": DESCRIPTIONS}
    )


NAV = [
    ("/admin/audit", "Audit", Permission.AUDIT),
    ("/admin/break-glass", "Break the glass", Permission.AUDIT),
    ("/admin/users", "Users", Permission.USERS),
]


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/audit", audit_page),
        Route("/admin/audit.csv", audit_csv),
        Route("/admin/break-glass", break_glass_page),
        Route("/admin/users", users_page),
    ]
