"""The reconciliation report put together (docs/recovery.md#reconciliation-report): back-entry's
reconciliation (`standby.recovery.reconciliation`) with who each patient is and their unit
(`standby.clinical`), as a PDF (`standby.reports.reconciliation`) and as CSV. Used by the
viewer's page and by `standby recover report`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo

from standby.clinical.census import units
from standby.clinical.summary import patient_identity
from standby.journal import repository as journal
from standby.journal.entries import Kind
from standby.journal.fhir_mapping import JOURNAL_ID_PREFIX
from standby.recovery.reconciliation import (
    COLUMNS,
    UNKNOWN,
    PatientLabel,
    Reconciliation,
    from_store,
    summary_lines,
)
from standby.reports.reconciliation import CountTable, Sheet
from standby.store.base import Store
from standby.web.audit import spreadsheet_safe

REGISTERED = "(registered during the downtime)"


def label_of(store: Store, now: datetime) -> Callable[[str], PatientLabel]:
    """Who a back-entry patient is: the replica's Patient (name, MRN, birth date, unit), or
    for a patient registered during the downtime, the registration (downtime MRN)."""
    names = {u.id: u.alias for u in units(store)}

    def label(key: str) -> PatientLabel:
        # a patient registered during the downtime first: their MRN is a downtime MRN, and
        # says so (the read model would show it as a plain MRN)
        reg = journal.read(store, key.removeprefix(JOURNAL_ID_PREFIX))
        if reg is not None and reg.kind is Kind.REGISTRATION:
            pl = reg.payload
            name = f"{str(pl.get('family', '')).upper()}, {pl.get('given', '')}".strip(", ")
            return PatientLabel(
                name,
                f"{pl.get('mrn', '—')} (downtime)",
                str(pl.get("birth_date", "—")),
                REGISTERED,
            )
        read = patient_identity(store, key, now)
        if read is not None:
            i = read.identity
            unit = names.get(i.unit_id or "", i.unit_id or "") or "(no unit)"
            return PatientLabel(i.name, i.mrn or "—", i.dob or "—", unit)
        return UNKNOWN

    return label


def build(store: Store, now: datetime) -> Reconciliation:
    return from_store(store, label_of(store, now), now)


def summary(store: Store, now: datetime) -> list[tuple[str, str]]:
    """The reconciliation in a few lines, for the after-action report."""
    return summary_lines(build(store, now))


def _when(t: datetime | None, zone: tzinfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if t else "not available"


def figures(rec: Reconciliation, zone: tzinfo) -> list[tuple[str, str]]:
    took = rec.took
    return [
        ("Back-entry's state read at", _when(rec.as_of, zone)),
        ("Entries that must reach the EHR", str(len(rec.lines))),
        ("Not in the EHR yet", str(len(rec.remaining))),
        ("First entry sent", _when(rec.timing.first_sent_at, zone)),
        ("Last entry confirmed", _when(rec.timing.last_confirmed_at, zone)),
        (
            "Back-entry took (first sent → last confirmed)",
            str(took).split(".")[0] if took is not None else "not available (nothing confirmed)",
        ),
        ("Replaced by a correction (counted as the correction)", str(rec.replaced)),
        ("Drill entries (never filed)", str(rec.drills_left_out)),
    ]


REMAINING_HEADER = (
    "Performed",
    "What",
    "Status",
    "Patient (name · MRN · DOB)",
    "Unit",
    "By",
    "Why",
)


def _remaining_rows(rec: Reconciliation, zone: tzinfo) -> list[list[str]]:
    return [
        [
            _when(ln.performed_at, zone),
            ln.kind,
            ln.status,
            f"{ln.patient.name} · MRN {ln.patient.mrn} · DOB {ln.patient.dob}",
            ln.patient.unit,
            ln.author,
            f"{ln.why} (entry {ln.entry_id})" if ln.why else f"entry {ln.entry_id}",
        ]
        for ln in rec.remaining
    ]


def _table(title: str, first: str, counts: Mapping[str, Mapping[str, int]]) -> CountTable:
    shown = [c for c in COLUMNS if any(row.get(c) for row in counts.values())] or ["confirmed"]
    rows = [[k, *[str(row.get(c, 0)) for c in shown]] for k, row in counts.items()]
    return CountTable(title, [first, *shown], rows)


def sheet(rec: Reconciliation, zone: tzinfo) -> Sheet:
    return Sheet(
        statement=rec.statement(),
        complete=rec.complete,
        figures=figures(rec, zone),
        tables=[
            _table("By kind", "kind", rec.by_kind),
            _table("By unit", "unit", rec.by_unit),
            _table("By author", "author", rec.by_author),
        ],
        remaining_header=REMAINING_HEADER,
        remaining=_remaining_rows(rec, zone),
    )


CSV_HEADER = (
    "entry_id",
    "kind",
    "status",
    "complete",
    "patient_name",
    "mrn",
    "birth_date",
    "unit",
    "author",
    "performed_at",
    "why",
)


def csv_lines(rec: Reconciliation, zone: tzinfo) -> Iterator[str]:
    """A header, one row per entry that must reach the EHR, and the statement as the last
    row; every cell spreadsheet-safe (`web.audit.spreadsheet_safe`)."""
    buf = io.StringIO()
    w = csv.writer(buf)

    def row(cells: list[str]) -> str:
        w.writerow([spreadsheet_safe(c) for c in cells])
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    yield row(list(CSV_HEADER))
    for ln in rec.lines:
        yield row(
            [
                ln.entry_id,
                ln.kind,
                ln.status,
                "yes" if ln.status in ("confirmed", "entered-by-hand", "discarded") else "no",
                ln.patient.name,
                ln.patient.mrn,
                ln.patient.dob,
                ln.patient.unit,
                ln.author,
                _when(ln.performed_at, zone),
                ln.why,
            ]
        )
    statement = rec.statement("They are the rows whose `complete` is no.")
    yield row(["", "", "", "yes" if rec.complete else "no", *[""] * 6, statement])


def csv_text(rec: Reconciliation, zone: tzinfo) -> str:
    return "".join(csv_lines(rec, zone))
