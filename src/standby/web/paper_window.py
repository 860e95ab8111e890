"""When paper may be transcribed and entries struck after the fact: the latest downtime's
window (`standby.journal.transcription.window`) read from the monitor's incidents and
back-entry's state (transcription closes once back-entry has sent its first entry)."""

from __future__ import annotations

from standby.journal import transcription as paper
from standby.monitor import incidents
from standby.recovery import state as recovery_state
from standby.web.guard import PageRequest


def window(pr: PageRequest) -> paper.Window:
    latest = incidents.recent(pr.web.store, 1)
    if not latest:
        return paper.window(
            declared_at=None, outage_started_at=None, ended_at=None, drill=False, now=pr.now
        )
    i = latest[0]
    return paper.window(
        declared_at=i.declared_at,
        outage_started_at=i.outage_started_at,
        ended_at=i.ended_at,
        drill=i.drill,
        now=pr.now,
        back_entry_started_at=recovery_state.timing(pr.web.store).first_sent_at,
    )
