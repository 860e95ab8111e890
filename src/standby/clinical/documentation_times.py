"""When documentation of a downtime began, overall and per unit: the after-action
report's "time to first documentation" (docs/monitor.md#incidents).

The monitor may import only the store, so the composition root (`cli`, `web`) hands
`first_documentation` to `monitor.after_action.build`. It reads the journal's first
entry recorded in the downtime's span — drill entries for a drill, real ones for a real
downtime — and places each documented patient on the unit the replica holds them on.
"""

from __future__ import annotations

from datetime import datetime

from standby.clinical.census import units
from standby.clinical.summary import patient_identity
from standby.journal import repository as journal_repository
from standby.store.base import Store

UNPLACED = "unit not known (registered during the downtime, or no longer on a unit)"


def first_documentation(
    store: Store,
    since: datetime,
    until: datetime | None,
    *,
    drill: bool,
    now: datetime,
    per_unit: bool = True,
) -> tuple[datetime | None, list[tuple[str, datetime]]]:
    """The first entry recorded in [since, until) (None: none yet) and, with `per_unit`,
    each unit's first (by the unit the patient is on at `now`), earliest first."""
    firsts = journal_repository.first_recorded(store, since, until, drill=drill)
    if not firsts:
        return None, []
    overall = min(firsts.values())
    if not per_unit:
        return overall, []
    labels = {u.id: u.label for u in units(store, include_all=True)}
    by_unit: dict[str, datetime] = {}
    for pid, at in firsts.items():
        read = patient_identity(store, pid, now)
        unit_id = read.identity.unit_id if read is not None else None
        label = labels.get(unit_id or "", UNPLACED)
        if label not in by_unit or at < by_unit[label]:
            by_unit[label] = at
    return overall, sorted(by_unit.items(), key=lambda x: (x[1], x[0]))
