"""A back-entry run's outcome, and the two ways a run leaves off (docs/recovery.md)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Stop(Exception):
    """The run cannot go on (the EHR does not answer, or refuses our credentials)."""


class LostLease(Exception):
    """Another runner took over this patient (our lease ended): leave the patient to it."""


@dataclass
class RunResult:
    run_id: str
    transactions: bool
    enrolled: int = 0
    patients: int = 0
    busy_elsewhere: int = 0  # patients another runner held the lease of
    confirmed: int = 0
    conflict: int = 0
    rejected: int = 0
    held: int = 0
    unconfirmed: int = 0  # sent, not read back yet: sent again by the next run
    stopped: str | None = None
    # filed, then struck or corrected in the journal: the EHR still holds them (by hand)
    withdrawn_after_filing: list[str] = field(default_factory=list)
    left_out: Mapping[str, int] = field(default_factory=dict)
    notes: Sequence[str] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, what: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + n)

    def as_json(self) -> dict[str, Any]:
        return {
            k: v for k, v in vars(self).items() if not k.startswith("_") and k != "left_out"
        } | {"left_out": dict(self.left_out), "notes": list(self.notes)}
