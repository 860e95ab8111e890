"""The audit trail: every view of a patient's data records who, which patient, which page,
when and from which address (docs/web.md#audit). Append-only: `standby.accounts.repository`
has no function that edits or deletes a line, and the database refuses it
(`standby.accounts.schema`).

Lines are written through the app's `GroupCommit` (`WebContext.audit_log`): concurrent
page views share one transaction, and a page is sent only after its line is committed
(rows that belong with a line, `Alongside`, share it too).
Admins search it and export it as CSV (routes/admin.py); both show the patient by name and
MRN (`patient_identities`), and the CSV keeps the replica's internal id for IT; every CSV
cell goes through `spreadsheet_safe`. After writing lines the viewer copies the chain's head
outside the database (`anchoring`, docs/security.md#the-audit-log).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import anyio
import orjson

from standby.accounts import audit_anchors
from standby.accounts import repository as repo
from standby.accounts.records import AuditEvent, AuditQuery
from standby.clock import instant
from standby.fhir import display as d
from standby.settings import Settings, audit_anchor_file
from standby.store.base import ReadOnlyStore, Store
from standby.store.group_commit import Alongside

if TYPE_CHECKING:
    from standby.web.guard import PageRequest

CSV_COLUMNS = (
    "id",
    "at",
    "username",
    "role",
    "action",
    "patient_mrn",
    "patient_name",
    "patient_id",
    "page",
    "address",
    "detail",
)
NO_LONGER_IN_REPLICA = "(patient no longer in the replica)"


log = logging.getLogger(__name__)


def _as_json(event: AuditEvent) -> str:
    return orjson.dumps(dataclasses.asdict(event)).decode()


def anchoring(settings: Settings) -> audit_anchors.Periodic | None:
    """What copies the chain's head beside the data while the viewer runs (none when no
    anchor file is set, as with PostgreSQL by default)."""
    path = audit_anchor_file(settings)
    return audit_anchors.Periodic(path, settings.audit_anchor_seconds) if path else None


def anchor_now(
    store: Store, anchors: audit_anchors.Periodic | None, *, force: bool = False
) -> None:
    """Copy the head if the interval has passed (or `force`: at shutdown); a failure is
    logged, never turned into a refused page (the lines themselves are committed)."""
    if anchors is None:
        return
    try:
        anchors.after_write(store, force=force)
    except OSError as e:
        log.warning("audit anchor not written to %s: %s", anchors.path, e)


def writer(
    store: Store, anchors: audit_anchors.Periodic | None
) -> Callable[[list[AuditEvent | Alongside]], None]:
    """How the viewer's `GroupCommit` writes a batch of lines: chained, then anchored; the
    rows that ride along (`Alongside`: the FHIR API's paging snapshots) in the same
    transaction. On a read-only store they are not written (a snapshot's later pages then
    answer 410: search again)."""

    def flush(items: list[AuditEvent | Alongside]) -> None:
        events = [i for i in items if isinstance(i, AuditEvent)]
        beside = [i for i in items if isinstance(i, Alongside)]
        try:
            with store.transaction() as tx:
                for row in beside:
                    tx.execute(row.sql, row.params)
                repo.append_audit_many(store, events)
        except ReadOnlyStore:
            # a PostgreSQL standby not yet promoted: the page is still shown (care comes
            # first) and its line goes to the log, whole, to be kept with it
            # (docs/postgresql.md#what-the-viewer-does-on-a-read-only-standby)
            for event in events:
                log.warning("audit line not in the database (read-only): %s", _as_json(event))
            return
        anchor_now(store, anchors)

    return flush


async def anchor_at_intervals(store: Store, anchors: audit_anchors.Periodic | None) -> None:
    """The lifespan's task: lines written outside the group commit (logins) get anchored
    too, at most one interval late."""
    if anchors is None:
        return
    while True:
        await anyio.sleep(max(anchors.seconds, 1.0))
        await anyio.to_thread.run_sync(anchor_now, store, anchors)


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


def patient_identities(store: Store, ids: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """Patient id → (name, MRN): the log keeps ids, people read names and MRNs."""
    out: dict[str, tuple[str, str]] = {}
    for pid in {i for i in ids if i}:
        sr = store.read("Patient", pid)
        if sr is None or sr.deleted:
            out[pid] = (NO_LONGER_IN_REPLICA, "")
            continue
        p = sr.json()
        out[pid] = (d.human_name(p.get("name"))[0], d.mrn(p) or "MRN unknown")
    return out


def csv_rows(store: Store, q: AuditQuery) -> Iterator[str]:
    """The CSV export, streamed: a header line, then one line per event, oldest first; each
    patient by MRN and name (looked up once per patient) beside the internal id."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    yield _take(buf)
    known: dict[str, tuple[str, str]] = {}
    for e in repo.iter_audit(store, q):
        name, mrn = "", ""
        if e.patient_id:
            if e.patient_id not in known:
                known.update(patient_identities(store, [e.patient_id]))
            name, mrn = known[e.patient_id]
        w.writerow(
            spreadsheet_safe(cell)
            for cell in (
                str(e.id),
                e.at,
                e.username,
                e.role,
                e.action,
                mrn,
                name,
                e.patient_id or "",
                e.page,
                e.address,
                e.detail,
            )
        )
        yield _take(buf)


def _take(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection"): the four
# operators, and tab and carriage return, which some spreadsheets strip before looking.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """The cell as text a spreadsheet shows and never evaluates: a leading `'` when it starts
    like a formula. Every cell of every CSV Standby writes goes through here, whoever typed
    it (a username on the login form lands in the audit as it was typed)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
