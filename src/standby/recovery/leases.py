"""Leases: one back-entry runner per patient at a time (table `recovery_claims`;
docs/recovery.md#running-it).

A runner sends a patient's entries only while it holds that patient's lease, renewed as it
goes; a killed runner's lease ends by itself after its length. The EHR's conditional create
(`If-None-Exist` on the entry's identifier) is what makes a resend harmless; the lease
keeps two runners (two processes, or two nodes on one PostgreSQL replica) from racing
each other in the first place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from standby.clock import instant
from standby.recovery import schema
from standby.store.base import Store


def claim(store: Store, patient_key: str, holder: str, now: datetime, lease: timedelta) -> bool:
    """Take (or renew) the lease on a patient's entries until `now + lease`. False while
    another runner holds a lease that has not ended."""
    schema.ensure(store)
    until = instant(now + lease)
    with store.transaction() as db:
        if db.execute(
            "INSERT INTO recovery_claims (patient_key, holder, until) VALUES (?, ?, ?)"
            " ON CONFLICT (patient_key) DO NOTHING",
            (patient_key, holder, until),
        ):
            return True
        return bool(
            db.execute(
                "UPDATE recovery_claims SET holder = ?, until = ?"
                " WHERE patient_key = ? AND (holder = ? OR until < ?)",
                (holder, until, patient_key, holder, instant(now)),
            )
        )


def release(store: Store, patient_key: str, holder: str) -> None:
    """Give a lease back (only the holder's own)."""
    schema.ensure(store)
    with store.transaction() as db:
        db.execute(
            "DELETE FROM recovery_claims WHERE patient_key = ? AND holder = ?",
            (patient_key, holder),
        )
