"""Downtime mode: the state machine applied to the database, and its effects.

Each change of state happens in one transaction with what it implies: the status row the
banner reads, the incident and its timeline, and the notifications queued in the outbox.
Effects outside the database run after the commit: the packet run (a callable handed in by
the composition root, so that monitor does not import reports) and delivery of the outbox
(`notify.outbox`). docs/monitor.md#downtime-mode
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from standby.clock import instant, parse_instant
from standby.monitor import incidents, schema
from standby.monitor import state as sm
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.notify.messages import render
from standby.monitor.probes import ProbeResult
from standby.monitor.probes import record as record_results
from standby.monitor.state import Round, State, Transition
from standby.monitor.status import StatusRow, load_row, save_row, shown
from standby.store.base import Store, Transaction

log = logging.getLogger(__name__)

# (banner "DOWNTIME" | "DRILL", now) -> a one-line summary of what was generated
PacketHook = Callable[[str, datetime], str]


@dataclass(frozen=True)
class Outcome:
    """What one change did: the transitions, and the incident declared now (if any)."""

    transitions: tuple[Transition, ...]
    declared: str | None = None  # incident id newly declared: run the packets for it
    drill: bool = False


def _values(row: StatusRow, cfg: MonitorConfig, now: datetime) -> dict[str, str]:
    m = row.machine
    since = parse_instant(row.declared_at) if row.declared_at else m.since
    minutes = 0 if since is None else int((now - since).total_seconds() // 60)
    return {
        "state": m.state.value,
        "since": shown(since),
        "incident_id": row.incident_id or "",
        "declared_by": m.declared_by or "",
        "message": row.message or "",
        "what_to_do": row.what_to_do or cfg.what_to_do,
        "status_url": cfg.status_url,
        "minutes": str(minutes),
    }


def _notify(
    tx: Transaction, row: StatusRow, cfg: MonitorConfig, event: str, now: datetime, n: int = 0
) -> None:
    incident_id = row.incident_id
    message_id = f"{incident_id}:{event}" + (f":{n}" if n else "")
    msg = render(
        event,
        _values(row, cfg, now),
        message_id=message_id,
        incident_id=incident_id,
        drill=row.machine.drill,
        templates=cfg.templates,
    )
    recipients = cfg.recipients_for(event, row.machine.drill, row.notify_real)
    added = outbox.enqueue(tx, msg, recipients, now)
    if added:
        incidents.append(
            tx,
            incident_id,
            now,
            "notification",
            sm.MONITOR,
            f"{event}: queued to {added} recipient(s): {msg.subject}",
        )


def _apply(
    tx: Transaction,
    row: StatusRow,
    transitions: tuple[Transition, ...],
    cfg: MonitorConfig,
    now: datetime,
    *,
    evidence: str = "",
) -> tuple[StatusRow, str | None]:
    """Record transitions on the timeline; open/close incidents; queue notifications."""
    declared: str | None = None
    for t in transitions:
        if t.to_state is State.DOWNTIME and t.from_state in (State.NORMAL, State.DEGRADED):
            how = "automatic" if t.actor == sm.MONITOR else "manual"
            outage = row.machine.first_failure_at or row.machine.drill_started_at
            iid = incidents.open_incident(
                tx,
                at=t.at,
                declared_by=t.actor,
                how=how,
                drill=row.machine.drill,
                outage_started_at=outage,
            )
            todo = cfg.what_to_do
            if row.machine.drill:
                todo = f"This is a DRILL: the EHR is not really down. Practise: {todo}"
            row = replace(
                row,
                incident_id=iid,
                what_to_do=todo,
                reminders_sent=0,
                last_reminder_at=None,
                declared_at=instant(t.at),
                ended_at=None,
                ended_by=None,
                closing_message=None,
            )
            declared = iid
            incidents.append(
                tx,
                iid,
                t.at,
                "declared",
                t.actor,
                f"{'DRILL: ' if t.drill else ''}downtime declared ({how}): {t.reason}",
            )
            if evidence:
                incidents.append(tx, iid, t.at, "evidence", sm.MONITOR, evidence)
            _notify(tx, row, cfg, "declared", now)
        elif t.to_state is State.RECOVERING:
            incidents.append(tx, row.incident_id, t.at, "recovery-proposed", t.actor, t.reason)
            _notify(tx, row, cfg, "recovery-proposed", now)
        elif t.to_state is State.NORMAL and t.from_state in (State.DOWNTIME, State.RECOVERING):
            ended_id = row.incident_id
            incidents.append(tx, ended_id, t.at, "ended", t.actor, t.reason)
            if ended_id is not None:
                incidents.close_incident(tx, ended_id, t.at, t.actor)
            if row.message and t.actor != sm.MONITOR:
                incidents.append(
                    tx, ended_id, t.at, "message", t.actor, f"closing message: {row.message}"
                )
            _notify(tx, row, cfg, "ended", now)
            row = replace(
                row,
                incident_id=None,
                broadcast=None,
                what_to_do="",
                notify_real=False,
                ended_at=instant(t.at),
                ended_by=t.actor,
                closing_message=row.message if t.actor != sm.MONITOR else None,
            )
        else:
            incidents.append(
                tx,
                row.incident_id,
                t.at,
                "transition",
                t.actor,
                f"{t.from_state.value} → {t.to_state.value}: {t.reason}",
            )
    return row, declared


def apply_round(
    store: Store, cfg: MonitorConfig, results: list[ProbeResult], rnd: Round
) -> Outcome:
    """Record one round of probe results and feed its verdict to the machine; note when
    the round ran and whether the EHR answered its probes (before a drill's pretence)."""
    schema.ensure(store)
    answered = None if not any(r.ehr for r in results) else rnd.health is not sm.Health.FAILED
    with store.transaction() as tx:
        record_results(tx, results)
        row = load_row(tx)
        row = replace(row, last_round_at=instant(rnd.at), ehr_answered=answered)
        if row.machine.drill and not row.machine.in_downtime:
            rnd = Round(rnd.at, sm.Health.FAILED, "DRILL: simulated EHR outage")
        step = sm.observe(row.machine, rnd, cfg.thresholds)
        row = row.with_machine(step.machine)
        if any(
            t.from_state in (State.NORMAL, State.DEGRADED) and t.to_state is State.DOWNTIME
            for t in step.transitions
        ):
            row = replace(row, message=None)
        row, declared = _apply(tx, row, step.transitions, cfg, rnd.at, evidence=rnd.evidence)
        save_row(tx, row)
    return Outcome(step.transitions, declared, step.machine.drill)


def declare(
    store: Store,
    cfg: MonitorConfig,
    actor: str,
    now: datetime,
    *,
    reason: str = "",
    drill: bool = False,
    notify_real: bool = False,
    message: str | None = None,
) -> Outcome:
    """An incident commander declares downtime (raises `state.InvalidTransition` if already)."""
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        step = sm.declare(row.machine, now, actor, reason, drill=drill)
        row = replace(row.with_machine(step.machine), notify_real=row.notify_real or notify_real)
        row = replace(row, message=(message or "").strip() or None)
        row, declared = _apply(tx, row, step.transitions, cfg, now)
        save_row(tx, row)
    return Outcome(step.transitions, declared, step.machine.drill)


def confirm_end(
    store: Store, cfg: MonitorConfig, actor: str, now: datetime, *, message: str | None = None
) -> Outcome:
    """An incident commander ends downtime (confirms the proposed recovery, or by hand)."""
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        drill = row.machine.drill
        row = replace(row, message=(message or "").strip() or None)
        step = sm.confirm_end(row.machine, now, actor)
        row, _ = _apply(tx, row.with_machine(step.machine), step.transitions, cfg, now)
        save_row(tx, row)
    return Outcome(step.transitions, None, drill)


def start_drill(store: Store, actor: str, now: datetime, *, notify_real: bool = False) -> None:
    """Start a drill: the EHR's probes read as failed until the machine declares downtime."""
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        m = sm.start_drill(row.machine, now)
        save_row(tx, replace(row.with_machine(m), notify_real=notify_real))
        incidents.append(
            tx,
            None,
            now,
            "drill",
            actor,
            "drill started: simulated EHR outage"
            + (" (real recipients notified)" if notify_real else ""),
        )


def cancel_drill(store: Store, actor: str, now: datetime) -> None:
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        save_row(tx, replace(row.with_machine(sm.cancel_drill(row.machine)), notify_real=False))
        incidents.append(tx, None, now, "drill", actor, "drill cancelled before declaration")


def post_message(store: Store, actor: str, now: datetime, text: str, *, public: bool) -> None:
    """The incident commander broadcasts to logged-in staff (and, if `public`, to the status
    page). Empty text clears. Staff are told not to put patient details in messages."""
    text = text.strip()[:1000]
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        row = replace(row, broadcast=text or None)
        if public:
            row = replace(row, message=text or None)
        save_row(tx, row)
        kind = "message" if public else "broadcast"
        incidents.append(tx, row.incident_id, now, kind, actor, text or f"{kind} cleared")


def queue_reminder(store: Store, cfg: MonitorConfig, now: datetime) -> bool:
    """Queue the next reminder if one is due (every `reminder_minutes` of downtime)."""
    if cfg.reminder_minutes <= 0:
        return False
    schema.ensure(store)
    with store.transaction() as tx:
        row = load_row(tx)
        m = row.machine
        since = row.downtime_since
        if not m.in_downtime or since is None or row.incident_id is None:
            return False
        n = row.reminders_sent + 1
        due = (now - since).total_seconds() >= n * cfg.reminder_minutes * 60
        if not due:
            return False
        _notify(tx, row, cfg, "reminder", now, n)
        save_row(tx, replace(row, reminders_sent=n, last_reminder_at=instant(now)))
    return True


def run_packets(
    store: Store,
    hook: PacketHook | None,
    incident_id: str,
    drill: bool,
    now: Callable[[], datetime],
) -> None:
    """Run the packet generator once for a newly declared downtime; record when it finished."""
    if hook is None or not claim_packets(store, incident_id, now()):
        return
    banner = "DRILL" if drill else "DOWNTIME"
    try:
        summary = hook(banner, now())
    except Exception as e:
        log.exception("packet generation failed for %s", incident_id)
        with store.transaction() as tx:
            incidents.append(
                tx,
                incident_id,
                now(),
                "packets",
                sm.MONITOR,
                f"packet generation FAILED: {type(e).__name__}: {e}"[:500],
            )
        return
    done = now()
    with store.transaction() as tx:
        incidents.set_first(tx, incident_id, "first_packet_at", done)
        incidents.append(
            tx,
            incident_id,
            done,
            "packets",
            sm.MONITOR,
            f"{banner} packets generated: {summary}"[:1000],
        )


def claim_packets(store: Store, incident_id: str, now: datetime) -> bool:
    """True once per incident: whoever claims it (the runner, a command) runs the packets."""
    with store.transaction() as tx:
        if tx.query(
            "SELECT 1 FROM monitor_events WHERE incident_id = ? AND kind = 'packets-started'",
            (incident_id,),
        ):
            return False
        incidents.append(
            tx, incident_id, now, "packets-started", sm.MONITOR, "packet generation started"
        )
        return True


def note_sent(store: Store, row: outbox.OutboxRow, now: datetime) -> None:
    """Timeline entry for a delivered notification."""
    with store.read_transaction() as tx:
        found = tx.query(
            "SELECT incident_id FROM monitor_outbox WHERE message_id = ? AND channel = ? "
            "AND recipient = ?",
            (row.message_id, row.channel, row.recipient),
        )
    incident_id = found[0][0] if found else None
    with store.transaction() as tx:
        incidents.append(
            tx,
            incident_id,
            now,
            "notification",
            sm.MONITOR,
            f"{row.event}: sent by {row.channel} to {row.recipient} (attempt {row.attempts})",
        )
