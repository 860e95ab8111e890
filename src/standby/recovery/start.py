"""May back-entry start now, and by which registrar's decisions: shared by `standby recover
run` and the reconciliation page's button (docs/recovery.md#running-it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from standby import clock
from standby.recovery import matches
from standby.store import Store


def why_not(state: str, ended_at: datetime | None, *, drill: bool) -> str | None:
    """Why back-entry may not start now (None: it may), from the monitor's downtime state:
    only after the incident commander has ended a downtime; a drill files only drill
    entries, to a test EHR, at any time."""
    if drill:
        return None
    if state in ("downtime", "recovering"):
        return (
            f"the downtime is not over (state: {state}): back-entry starts once the "
            "incident commander ends it (`standby monitor end`)"
        )
    if ended_at is None:
        return (
            "no downtime has been ended on this replica: back-entry starts once the incident "
            "commander ends one (`standby monitor end`); for a drill against a test EHR use "
            "--drill --source URL"
        )
    return None


def decisions_frozen(store: Store) -> Mapping[str, str | None]:
    """The registrar's decisions a run files by, each frozen first (`matches.freeze`): once
    back-entry may send a patient's entries, the registrar can no longer change who they
    are. The frozen decision is the one used, even if it changed since it was listed."""
    at = clock.now()
    return {
        rid: matches.freeze(store, rid, by="back-entry", now=at).ehr_patient_id
        for rid in matches.all_decisions(store)
    }
