"""The reconciliation of a downtime: is every entry documented in Standby now in the EHR?
(docs/recovery.md#reconciliation-report)

`reconcile` (pure) puts back-entry's state (`state.BackEntry`, one per enrolled entry)
beside the journal: what stands of it (not drills, not strikes) is what must reach the
EHR. Each such entry counts in exactly one status; one that back-entry has not enrolled
yet counts as `not yet sent`. An enrolled entry that a later correction replaced (a
conflict re-sent after an edit in the review queue) is accounted for by its correction,
and counted apart as `replaced by a correction`.

Complete means: at least one entry, and every entry confirmed, entered by hand or
discarded with a reason. The statement says so in one sentence, or says just as plainly
that it is not complete and how many remain; the entries that remain are listed.

Who the patient is and their unit come from the composition root (`label_of`): this
package does not read the clinical model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from standby.journal.entries import Entry, Kind
from standby.journal.repository import in_effect
from standby.recovery import facts, state
from standby.recovery.plan import patient_key
from standby.recovery.state import BackEntry, Status, Timing
from standby.store.base import Store

NOT_SENT = "not yet sent"  # documented, not yet enrolled in back-entry
#: The columns of the counts, in order.
COLUMNS: tuple[str, ...] = (
    Status.CONFIRMED.value,
    Status.ENTERED_BY_HAND.value,
    Status.DISCARDED.value,
    Status.CONFLICT.value,
    Status.REJECTED.value,
    Status.HELD.value,
    Status.PENDING.value,
    Status.SENT.value,
    NOT_SENT,
)
DONE: tuple[str, ...] = (
    Status.CONFIRMED.value,
    Status.ENTERED_BY_HAND.value,
    Status.DISCARDED.value,
)
NO_UNIT = "(no unit)"


@dataclass(frozen=True, slots=True)
class PatientLabel:
    """Two identifiers of a patient and their unit, as the composition root knows them."""

    name: str
    mrn: str
    dob: str
    unit: str


UNKNOWN = PatientLabel("(not in the replica)", "—", "—", NO_UNIT)


@dataclass(frozen=True, slots=True)
class Line:
    """One entry of the report."""

    entry_id: str
    kind: str
    status: str
    patient_key: str
    patient: PatientLabel
    author: str
    performed_at: datetime
    why: str  # the EHR's error, the reviewer's reason, or why it is held


@dataclass(frozen=True)
class Reconciliation:
    as_of: datetime
    lines: Sequence[Line]  # every entry that must reach the EHR
    replaced: int  # enrolled entries replaced by a correction
    timing: Timing
    drills_left_out: int = 0
    by_kind: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    by_unit: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    by_author: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(COLUMNS, 0)
        for ln in self.lines:
            out[ln.status] += 1
        return out

    @property
    def remaining(self) -> list[Line]:
        """The entries not yet in the EHR, oldest first."""
        return [ln for ln in self.lines if ln.status not in DONE]

    @property
    def complete(self) -> bool:
        return bool(self.lines) and not self.remaining

    @property
    def took(self) -> timedelta | None:
        return self.timing.took

    def statement(self, listed: str = "They are listed below.") -> str:
        t = self.totals
        if not self.lines:
            return (
                "NOT COMPLETE: no entry documented during the downtime is known to back-entry "
                "(nothing was documented, or back-entry has not run on this replica)."
            )
        done = (
            f"{t[Status.CONFIRMED.value]} confirmed, {t[Status.ENTERED_BY_HAND.value]} entered "
            f"by hand, {t[Status.DISCARDED.value]} discarded with reasons"
        )
        if self.complete:
            return f"Every entry documented during this downtime is in the EHR: {done}."
        left = [f"{t[c]} {c}" for c in COLUMNS if c not in DONE and t[c]]
        return (
            f"NOT COMPLETE: {len(self.remaining)} of {len(self.lines)} entries documented "
            f"during this downtime are not in the EHR yet ({', '.join(left)}). {listed} "
            f"So far: {done}."
        )


def _count(lines: Iterable[Line], key: Callable[[Line], str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ln in lines:
        row = out.setdefault(key(ln), dict.fromkeys(COLUMNS, 0))
        row[ln.status] += 1
    return dict(sorted(out.items()))


def reconcile(
    entries: Sequence[Entry],
    backentries: Mapping[str, BackEntry],
    label_of: Callable[[str], PatientLabel],
    timing: Timing,
    as_of: datetime,
) -> Reconciliation:
    """`entries`: the whole journal, in the order written; `backentries`: back-entry's state
    by entry id; `label_of(patient_key)`: who the patient is (the replica's patient id, or a
    downtime registration's entry id)."""
    real = [e for e in entries if not e.drill]
    drills = len(entries) - len(real)
    standing = [e for e in in_effect(real) if e.kind is not Kind.STRIKE]
    regs = {e.id: e for e in standing if e.kind is Kind.REGISTRATION}
    labels: dict[str, PatientLabel] = {}

    def label(key: str) -> PatientLabel:
        if key not in labels:
            labels[key] = label_of(key)
        return labels[key]

    lines: list[Line] = []
    for e in standing:
        b = backentries.get(e.id)
        key = b.patient_key if b else patient_key(e, regs)
        status = b.status.value if b else NOT_SENT
        why = ""
        if b is not None:
            why = b.review_reason or b.last_error or ""
        if not why and e.corrects:
            why = f"correction of entry {e.corrects}"
        lines.append(
            Line(
                e.id,
                e.kind.value,
                status,
                key,
                label(key),
                e.author_name or e.author,
                e.performed_at,
                why,
            )
        )
    lines.sort(key=lambda ln: (ln.performed_at, ln.entry_id))
    standing_ids = {e.id for e in standing}
    replaced = sum(
        1
        for e in real
        if e.id in backentries and e.id not in standing_ids and e.kind is not Kind.STRIKE
    )
    return Reconciliation(
        as_of=as_of,
        lines=lines,
        replaced=replaced,
        timing=timing,
        drills_left_out=drills,
        by_kind=_count(lines, lambda ln: ln.kind),
        by_unit=_count(lines, lambda ln: ln.patient.unit or NO_UNIT),
        by_author=_count(lines, lambda ln: ln.author),
    )


def _all_state(store: Store) -> dict[str, BackEntry]:
    out: dict[str, BackEntry] = {}
    for s in Status:
        offset = 0
        while True:
            page = state.list_by_status(store, s, limit=5000, offset=offset)
            out.update((b.entry_id, b) for b in page)
            if len(page) < 5000:
                break
            offset += len(page)
    return out


def from_store(
    store: Store, label_of: Callable[[str], PatientLabel], as_of: datetime
) -> Reconciliation:
    """The reconciliation of everything the replica's journal holds."""
    return reconcile(facts.journal(store), _all_state(store), label_of, state.timing(store), as_of)


def summary_lines(rec: Reconciliation) -> list[tuple[str, str]]:
    """The reconciliation in a few lines (for the after-action report)."""
    t = rec.totals
    took = rec.took
    return [
        ("Back-entry", rec.statement()),
        ("Entries to file", str(len(rec.lines))),
        *[(c, str(t[c])) for c in COLUMNS if t[c]],
        (
            "Back-entry took (first sent → last confirmed)",
            str(timedelta(seconds=round(took.total_seconds()))) if took else "not available",
        ),
    ]
