"""Admin pages: audit search and CSV export, the break-the-glass list, the users list
(docs/web.md#admin), where accounts are unlocked, disabled and enabled. The audit log has
no edit or delete path.

The audit search answers "who looked at this patient?": the patient is asked for by MRN,
name or date of birth (found as the patient search finds them) and shown by name and
MRN, never by the replica's internal id."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from standby.accounts import repository as repo
from standby.accounts.records import AuditQuery
from standby.accounts.roles import DESCRIPTIONS, Permission
from standby.clinical.patients import CANDIDATES, search_patients
from standby.web import audit
from standby.web.guard import PageRequest, not_found, page


def _limit(pr: PageRequest) -> int:
    try:
        return max(1, min(5000, int(pr.query("limit", "500"))))
    except ValueError:
        return 500


def _patients(pr: PageRequest, text: str) -> tuple[str, ...] | None:
    """The patients a "Patient" filter names: an MRN, a name (as the patient search finds
    it), a date of birth, or a patient id; None when the filter is empty."""
    text = text.strip()
    if not text:
        return None
    sr = pr.web.store.read("Patient", text)
    if sr is not None and not sr.deleted:
        return (text,)
    found = search_patients(pr.web.store, text, now=pr.now, limit=CANDIDATES)
    return tuple(m.id for m in found.matches)


def _query(pr: PageRequest) -> AuditQuery:
    def opt(name: str) -> str | None:
        return pr.query(name).strip() or None

    return AuditQuery(
        username=opt("user"),
        action=opt("action"),
        since=opt("since"),
        until=opt("until"),
        limit=_limit(pr),
        patient_ids=_patients(pr, pr.query("patient")[:200]),
    )


def _identities(pr: PageRequest, ids: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """Patient id → (name, MRN) for the events shown: the log keeps ids, people read MRNs."""
    return audit.patient_identities(pr.web.store, ids)


@page(Permission.AUDIT)
def audit_page(pr: PageRequest) -> Response:
    q = _query(pr)
    events = repo.search_audit(pr.web.store, q)
    asked = _identities(pr, q.patient_ids or ())
    return pr.render(
        "admin_audit.html",
        {
            "q": q,
            "patient": pr.query("patient")[:200],
            "events": events,
            "who": _identities(pr, (e.patient_id for e in events)),
            "asked": asked,
            "actions": repo.AUDIT_ACTIONS,
            "csv_query": pr.request.url.query,
        },
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
    """The accesses, and above them the alerts of users refused many patients."""
    alerts = repo.search_audit(pr.web.store, AuditQuery(action="refusal-alert", limit=50))
    return pr.render(
        "admin_break_glass.html",
        {"accesses": repo.list_break_glass(pr.web.store), "alerts": alerts},
    )


@page(Permission.USERS)
def users_page(pr: PageRequest) -> Response:
    return pr.render(
        "admin_users.html",
        {
            "users": repo.list_users(pr.web.store),
            "roles": DESCRIPTIONS,
            "done": pr.query("done")[:200],
        },
    )


ACCOUNT_CHANGES = ("unlock", "disable", "enable")


@page(Permission.USERS)
def change_user(pr: PageRequest) -> Response:
    """Unlock (forget the failed logins), disable (and end the sessions) or enable an
    account; audited as `account`."""
    username = pr.request.path_params["username"]
    what = pr.request.path_params["what"]
    if what not in ACCOUNT_CHANGES or repo.get_user(pr.web.store, username) is None:
        return not_found(pr, "No such account or change.")
    if what == "unlock":
        repo.clear_failures(pr.web.store, username)
    else:
        repo.set_active(pr.web.store, username, what == "enable")
    pr.audit("account", None, f"{what} {username}")
    return RedirectResponse(f"/admin/users?done={quote(f'{what}d {username}')}", 303)


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
        Route("/admin/users/{username}/{what}", change_user, methods=["POST"]),
    ]
