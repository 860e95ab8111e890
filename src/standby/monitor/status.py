"""What the banner on every page and the public status page show: `current_status(store)`.

The web viewer calls `current_status` for every page (docs/monitor.md#downtime-mode), so
it is one small read. The row it reads (`StatusRow`) is written by `standby.monitor.downtime`
inside the same transaction as each change of state, and after every probe round (when it
ran, and whether the EHR answered its probes).

Whether the EHR answers is what was last observed (`Reachability`): the monitor's last
round here, the sync's last request in `standby.sync.status`; `latest_observation` picks
the newer of them for the web header and `standby status` (docs/monitor.md#reachability).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from standby.clock import parse_instant
from standby.monitor import schema
from standby.monitor.state import Machine, State
from standby.store.base import Store, Transaction

EHR_IS_DOWN = "The EHR is down."
DEFAULT_WHAT_TO_DO = (
    f"{EHR_IS_DOWN} Use Standby's viewer and the printed downtime packets for patient "
    "information; document on the downtime forms; follow your unit's downtime procedure and "
    "the incident commander's messages."
)
RECOVERY_WHAT_TO_DO = (
    "Recovery is proposed: the EHR answers again, but downtime is NOT over until the incident "
    "commander ends it. Keep documenting on the downtime forms and do not enter anything into "
    "the EHR until you are told downtime has ended."
)
CLOSING_SHOWN_FOR = timedelta(hours=12)  # how long staff see the closing message on pages


@dataclass(frozen=True)
class Reachability:
    """Whether the EHR answered when it was last observed, when, and by whom ("monitor":
    its probe round; "sync": its last request). `answered` None: never observed."""

    answered: bool | None
    at: datetime | None
    by: str | None


def latest_observation(*seen: Reachability) -> Reachability:
    """The newest of the observations that are known (on a tie, the first given)."""
    known = [s for s in seen if s.answered is not None and s.at is not None]
    if not known:
        return Reachability(None, None, None)
    return max(known, key=lambda s: s.at or datetime.min.replace(tzinfo=UTC))


@dataclass(frozen=True)
class DowntimeStatus:
    """The state of the hospital's EHR as Standby sees it. Never holds patient data."""

    state: str  # "normal" | "degraded" | "downtime" | "recovering"
    since: datetime | None
    drill: bool
    incident_id: str | None
    message: str | None  # the latest public message from the incident commander
    broadcast: str | None  # the latest broadcast to logged-in staff
    what_to_do: str  # empty in normal operation
    last_round_at: datetime | None = None  # None: the monitor has never run on this replica
    ehr_answered: bool | None = None  # at its last round (None: no EHR probes configured)
    ended_at: datetime | None = None  # the end of the last downtime
    ended_by: str | None = None
    closing_message: str | None = None  # the incident commander's message at that end

    def closing_notice(self, now: datetime) -> bool:
        """Show logged-in staff the end of the last downtime (and its closing message) on
        every page for `CLOSING_SHOWN_FOR` after it ended, in normal operation."""
        if self.in_downtime or self.ended_at is None:
            return False
        return now - self.ended_at < CLOSING_SHOWN_FOR

    @property
    def observed(self) -> Reachability:
        """What the monitor's last round saw of the EHR."""
        if self.ehr_answered is None:
            return Reachability(None, None, None)
        return Reachability(self.ehr_answered, self.last_round_at, "monitor")

    @property
    def in_downtime(self) -> bool:
        """Downtime mode: declared and not yet ended (recovery may be proposed)."""
        return self.state in (State.DOWNTIME.value, State.RECOVERING.value)

    @property
    def label(self) -> str:
        """`DOWNTIME`, `DRILL — DOWNTIME`, `RECOVERY PROPOSED`, `DEGRADED`, `NORMAL`."""
        base = {
            State.NORMAL.value: "NORMAL",
            State.DEGRADED.value: "EHR DEGRADED",
            State.DOWNTIME.value: "EHR DOWNTIME",
            State.RECOVERING.value: "EHR DOWNTIME — RECOVERY PROPOSED",
        }[self.state]
        if self.drill and not self.in_downtime:
            return "DRILL — SIMULATED EHR OUTAGE (NOT YET DECLARED)"
        return f"DRILL — {base}" if self.drill else base


@dataclass(frozen=True)
class StatusRow:
    """The single `monitor_state` row: the machine and what goes with the current state."""

    machine: Machine = field(default_factory=Machine)
    incident_id: str | None = None
    message: str | None = None
    broadcast: str | None = None
    what_to_do: str = ""
    last_reminder_at: str | None = None
    reminders_sent: int = 0
    notify_real: bool = False  # a drill that notifies the real recipients
    declared_at: str | None = None  # start of the current downtime (ISO), kept while recovering
    last_round_at: str | None = None  # the monitor's last probe round
    ehr_answered: bool | None = None  # the EHR's probes at that round (None: none configured)
    ended_at: str | None = None  # the end of the last downtime, by whom, its closing message
    ended_by: str | None = None
    closing_message: str | None = None

    @property
    def downtime_since(self) -> datetime | None:
        """When the current downtime was declared (not when recovery was proposed)."""
        if self.machine.in_downtime and self.declared_at:
            return parse_instant(self.declared_at)
        return self.machine.since

    def to_json(self) -> bytes:
        d: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["machine"] = self.machine.to_json()
        return orjson.dumps(d)

    @classmethod
    def from_json(cls, text: str | bytes) -> StatusRow:
        d = orjson.loads(text)
        d["machine"] = Machine.from_json(d.get("machine", {}))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def with_machine(self, machine: Machine) -> StatusRow:
        return replace(self, machine=machine)


def load_row(tx: Transaction) -> StatusRow:
    rows = tx.query("SELECT body FROM monitor_state WHERE id = 1")
    return StatusRow.from_json(rows[0][0]) if rows else StatusRow()


def save_row(tx: Transaction, row: StatusRow) -> None:
    tx.execute(
        "INSERT INTO monitor_state (id, body) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        (row.to_json().decode(),),
    )


def status_of(row: StatusRow) -> DowntimeStatus:
    m = row.machine
    return DowntimeStatus(
        state=m.state.value,
        since=row.downtime_since,
        drill=m.drill,
        incident_id=row.incident_id if m.in_downtime else None,
        message=row.message,
        broadcast=row.broadcast,
        what_to_do=_what_to_do(row),
        last_round_at=parse_instant(row.last_round_at) if row.last_round_at else None,
        ehr_answered=row.ehr_answered,
        ended_at=parse_instant(row.ended_at) if row.ended_at else None,
        ended_by=row.ended_by,
        closing_message=row.closing_message,
    )


def _what_to_do(row: StatusRow) -> str:
    """Empty in normal operation; while recovery is proposed, it says so first."""
    m = row.machine
    if not m.in_downtime:
        return ""
    if m.state is State.RECOVERING:  # "The EHR is down" is no longer what people see
        rest = row.what_to_do.replace(EHR_IS_DOWN, "", 1).strip()
        return f"{RECOVERY_WHAT_TO_DO} {rest}".strip()
    return row.what_to_do


def current_status(store: Store) -> DowntimeStatus:
    """The current downtime status, read from the replica database (one indexed read)."""
    schema.ensure(store)
    with store.read_transaction() as tx:
        return status_of(load_row(tx))


def shown(dt: datetime | None) -> str:
    """For people: `2026-11-28 14:05 UTC`."""
    return "—" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
