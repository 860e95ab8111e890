"""The audit trail: every view of a patient's data records who, which patient, which page,
when and from which address (docs/web.md#audit). Append-only: `standby.accounts.repository`
has no function that edits or deletes a line, and the database refuses it
(`standby.accounts.schema`).

Lines are written through the app's `GroupCommit` (`WebContext.audit_log`): concurrent
page views share one transaction, and a page is sent only after its line is committed.
Admins search it and export it as CSV (routes/admin.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

from standby.accounts import repository as repo
from standby.accounts.records import AuditEvent, AuditQuery
from standby.clock import instant
from standby.store.base import Store

if TYPE_CHECKING:
    from standby.web.guard import PageRequest

CSV_COLUMNS = ("id", "at", "username", "role", "action", "patient_id", "page", "address", "detail")


def record(pr: PageRequest, action: str, patient_id: str | None, detail: str = "") -> None:
    """One audit line for the current request (page = path and query)."""
    url = pr.request.url
    page = url.path + (f"?{url.query}" if url.query else "")
    pr.web.audit_log.submit(
        [
            AuditEvent(
                instant(pr.now),
                pr.user.username,
                pr.user.role,
                action,
                patient_id,
                page[:500],
                pr.address,
                detail[:500],
            )
        ]
    )


def record_many(pr: PageRequest, action: str, patient_ids: list[str], detail: str = "") -> None:
    """One audit line per patient shown on a page (census, schedules, search results)."""
    url = pr.request.url
    page = (url.path + (f"?{url.query}" if url.query else ""))[:500]
    at = instant(pr.now)
    pr.web.audit_log.submit(
        [
            AuditEvent(
                at, pr.user.username, pr.user.role, action, pid, page, pr.address, detail[:500]
            )
            for pid in dict.fromkeys(patient_ids)
        ],
    )


def csv_rows(store: Store, q: AuditQuery) -> Iterator[str]:
    """The CSV export, streamed: a header line, then one line per event, oldest first."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    yield _take(buf)
    for e in repo.iter_audit(store, q):
        w.writerow(
            [
                e.id,
                e.at,
                e.username,
                e.role,
                e.action,
                e.patient_id or "",
                e.page,
                e.address,
                _defuse(e.detail),
            ]
        )
        yield _take(buf)


def _take(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def _defuse(text: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is shown as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
