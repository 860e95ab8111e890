"""The reconciliation report (docs/recovery.md#reconciliation-report) on crafted state, on
every engine: the counts, the statement when everything is in the EHR and when it is
not, what remains listed; the PDF read back with pdftotext; the CSV neutralised;
`standby recover report`; the after-action report's back-entry lines."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind, make_entry
from standby.recovery import reconciliation, state
from standby.recovery.reconciliation import PatientLabel
from standby.recovery.state import Enrolment, Status, Written
from standby.reports.pages import Furniture
from standby.reports.reconciliation import reconciliation_pdf
from standby.store.base import Store
from standby.web import reconciliation as composed

DONE_AT = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
NOW = DONE_AT + timedelta(hours=2)
FORMULA = '=HYPERLINK("http://x.example/","click")'


def _entry(kind: Kind, pid: str, minutes: int, payload: dict[str, object], **kw: object) -> Entry:
    at = DONE_AT - timedelta(hours=3) + timedelta(minutes=minutes)
    return make_entry(
        kind,
        patient_id=pid,
        encounter_id=f"enc-{pid}",
        author=str(kw.pop("author", "rn.lee")),
        author_name=str(kw.pop("author_name", "Lee, RN")),
        role="nurse",
        node="4w-node",
        now=at + timedelta(minutes=5),
        performed_at=at,
        payload=payload,
        **kw,  # type: ignore[arg-type]
    )


LABELS = {
    "p1": PatientLabel("ADAMS, Ann", "MRN001", "1950-02-03", "4W"),
    "p2": PatientLabel("BROWN, Bo", "MRN002", "1961-04-05", "ICU"),
}


def _label(key: str) -> PatientLabel:
    return LABELS.get(key, reconciliation.UNKNOWN)


def _file(store: Store, entries: list[Entry]) -> None:
    journal.append(store, entries)
    state.enroll(
        store,
        [Enrolment(e.id, e.kind.value, e.patient_id, e.performed_at) for e in entries],
        DONE_AT - timedelta(hours=1),
        "runner",
    )


def _confirm(store: Store, e: Entry, at: datetime) -> None:
    assert state.mark_sent(store, e.id, at - timedelta(seconds=30), "runner")
    w = Written("Observation", f"obs-{e.id[:8]}", "1", f"urn:uuid:{e.id}")
    assert state.mark_confirmed(store, e.id, [w], at, "runner")


def _crafted(store: Store) -> dict[str, Entry]:
    e = {
        "v1": _entry(Kind.VITALS, "p1", 0, {"heart_rate": 80}),
        "v2": _entry(
            Kind.VITALS, "p2", 10, {"heart_rate": 90}, author="rn.kim", author_name=FORMULA
        ),
        "n1": _entry(Kind.NOTE, "p1", 20, {"note_type": "nursing", "title": "Night", "text": "ok"}),
        "t1": _entry(Kind.TRANSFER, "p2", 30, {"location_id": "bed-9"}),
        "d1": _entry(Kind.VITALS, "p1", 40, {"heart_rate": 81}, drill=True),
    }
    _file(store, list(e.values()))
    _confirm(store, e["v1"], DONE_AT - timedelta(minutes=40))
    _confirm(store, e["v2"], DONE_AT - timedelta(minutes=20))
    assert state.mark_sent(store, e["n1"].id, DONE_AT - timedelta(minutes=19), "runner")
    assert state.mark_conflict(store, e["n1"].id, "HTTP 409", DONE_AT, "runner")
    state.set_outcome(
        store, e["n1"].id, Status.ENTERED_BY_HAND, "him", "EHR notes, by Ortiz", now=NOW
    )
    assert state.mark_sent(store, e["t1"].id, DONE_AT - timedelta(minutes=10), "runner")
    return e


def test_everything_confirmed_or_decided_says_so_in_one_sentence(store: Store) -> None:
    e = _crafted(store)
    assert state.mark_confirmed(store, e["t1"].id, [], DONE_AT, "runner")
    rec = reconciliation.from_store(store, _label, NOW)
    assert rec.complete
    assert rec.statement() == (
        "Every entry documented during this downtime is in the EHR: 3 confirmed, "
        "1 entered by hand, 0 discarded with reasons."
    )
    assert rec.remaining == [] and rec.drills_left_out == 1
    assert rec.by_kind["vitals"]["confirmed"] == 2 and rec.by_kind["note"]["entered-by-hand"] == 1
    assert rec.by_unit["4W"]["confirmed"] == 1 and rec.by_unit["ICU"]["confirmed"] == 2
    assert rec.by_author["Lee, RN"]["entered-by-hand"] == 1
    # first sent → last confirmed
    assert rec.took == DONE_AT - (DONE_AT - timedelta(minutes=40, seconds=30))


def test_one_rejected_is_not_complete_and_is_listed(store: Store, tmp_path: Path) -> None:
    e = _crafted(store)
    assert state.mark_rejected(
        store, e["t1"].id, "PUT Encounter/enc-p2 → HTTP 422: unknown location", DONE_AT, "runner"
    )
    rec = reconciliation.from_store(store, _label, NOW)
    assert not rec.complete
    statement = rec.statement()
    assert statement.startswith("NOT COMPLETE: 1 of 4 entries")
    assert "1 rejected" in statement and "Every entry" not in statement
    assert [ln.entry_id for ln in rec.remaining] == [e["t1"].id]
    line = rec.remaining[0]
    assert line.patient.mrn == "MRN002" and "unknown location" in line.why
    # the PDF says the same, with the entry listed and both identifiers
    sheet = composed.sheet(rec, UTC)
    pdf = reconciliation_pdf(sheet, Furniture(data_as_of=DONE_AT, generated=NOW, unit="all"))
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert "NOT COMPLETE: 1 of 4 entries" in flat
    assert "BROWN, Bo" in flat and "MRN002" in flat and "unknown location" in flat
    assert "Data as of" in flat
    # the CSV: one row per entry, formulas neutralised, the statement last
    rows = list(csv.reader(io.StringIO(composed.csv_text(rec, UTC))))
    assert rows[0][0] == "entry_id" and len(rows) == 1 + 4 + 1
    authors = {r[0]: r[8] for r in rows[1:-1]}
    assert authors[e["v2"].id] == "'" + FORMULA
    assert rows[-1][3] == "no" and rows[-1][-1].startswith("NOT COMPLETE: 1 of 4 entries")
    assert "rows whose `complete` is no" in rows[-1][-1]


def test_complete_statement_in_the_pdf(store: Store, tmp_path: Path) -> None:
    e = _crafted(store)
    assert state.mark_confirmed(store, e["t1"].id, [], DONE_AT, "runner")
    rec = reconciliation.from_store(store, _label, NOW)
    pdf = reconciliation_pdf(
        composed.sheet(rec, UTC), Furniture(data_as_of=DONE_AT, generated=NOW, unit="all")
    )
    (tmp_path / "ok.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "ok.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert "Every entry documented during this downtime is in the EHR: 3 confirmed" in flat
    assert "NOT COMPLETE" not in flat


def test_nothing_known_is_not_complete(store: Store) -> None:
    rec = reconciliation.from_store(store, _label, NOW)
    assert not rec.complete and rec.statement().startswith("NOT COMPLETE")


def test_entries_back_entry_has_not_enrolled_remain(store: Store) -> None:
    e = _crafted(store)
    assert state.mark_confirmed(store, e["t1"].id, [], DONE_AT, "runner")
    late = _entry(Kind.VITALS, "p2", 50, {"heart_rate": 70})
    journal.append(store, [late])  # documented, back-entry not run since
    rec = reconciliation.from_store(store, _label, NOW)
    assert not rec.complete
    assert [ln.status for ln in rec.remaining] == [reconciliation.NOT_SENT]
    assert "1 not yet sent" in rec.statement()


def test_a_struck_entry_is_not_owed_and_a_corrected_one_counts_as_its_correction(
    store: Store,
) -> None:
    e = _crafted(store)
    assert state.mark_rejected(store, e["t1"].id, "HTTP 412", DONE_AT, "runner")
    fix = _entry(Kind.TRANSFER, "p2", 31, {"location_id": "bed-8"}, corrects=e["t1"].id)
    journal.append(store, [fix])
    state.set_outcome(store, e["t1"].id, Status.PENDING, "him", f"re-sent as {fix.id}", now=NOW)
    state.enroll(store, [Enrolment(fix.id, "transfer", "p2", fix.performed_at)], NOW, "him")
    rec = reconciliation.from_store(store, _label, NOW)
    assert rec.replaced == 1
    assert [ln.entry_id for ln in rec.remaining] == [fix.id]  # the original is not owed twice
    _confirm(store, fix, NOW)
    assert reconciliation.from_store(store, _label, NOW).complete


@pytest.mark.parametrize("suffix", [".pdf", ".csv"])
def test_standby_recover_report(tmp_path: Path, suffix: str) -> None:
    from standby.cli.main import app
    from standby.store import open_store

    db = tmp_path / "replica.db"
    store = open_store(db=db)
    try:
        e = _crafted(store)
        assert state.mark_rejected(store, e["t1"].id, "HTTP 422", DONE_AT, "runner")
    finally:
        store.close()
    out = tmp_path / f"report{suffix}"
    r = CliRunner().invoke(app, ["recover", "report", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 1, r.output  # entries remain
    assert "NOT COMPLETE" in r.output and out.exists()
    store = open_store(db=db)
    try:
        assert state.mark_sent(store, e["t1"].id, NOW, "runner") is False  # rejected stays
        state.set_outcome(store, e["t1"].id, Status.DISCARDED, "him", "duplicate", now=NOW)
    finally:
        store.close()
    r = CliRunner().invoke(app, ["recover", "report", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Every entry documented during this downtime is in the EHR" in r.output
    assert "1 discarded with reasons" in r.output
    bad = CliRunner().invoke(app, ["recover", "report", "--db", str(db), "--out", "x.txt"])
    assert bad.exit_code == 2


def test_the_after_action_report_carries_the_reconciliation(store: Store) -> None:
    from standby.monitor import after_action, downtime
    from standby.monitor.config import MonitorConfig

    e = _crafted(store)
    assert state.mark_rejected(store, e["t1"].id, "HTTP 422", DONE_AT, "runner")
    inc = downtime.declare(
        store, MonitorConfig(), "ic", DONE_AT - timedelta(hours=5), reason="down"
    )
    iid = inc.declared
    assert iid is not None
    lines = reconciliation.summary_lines(reconciliation.from_store(store, _label, NOW))
    open_report = after_action.build(store, iid, back_entry=lambda: lines)
    assert open_report.back_entry == ()  # during the downtime: back-entry has not begun
    downtime.confirm_end(store, MonitorConfig(), "ic", DONE_AT - timedelta(hours=1))
    report = after_action.build(store, iid, back_entry=lambda: lines)
    md = after_action.markdown(report)
    assert "## Back-entry (reconciliation)" in md and "NOT COMPLETE: 1 of 4 entries" in md
    assert b"%PDF" in after_action.pdf(report)[:8]
