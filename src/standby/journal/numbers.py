"""Downtime numbers: the MRN and encounter number of a patient registered while the EHR
is down (docs/journal.md#downtime-numbers).

Hospitals keep pre-printed downtime numbers per unit so that two places never hand out
the same one; Standby does the same with a range per node, set in the node's settings
(`STANDBY_JOURNAL_MRN_RANGE=DT4W-0001..DT4W-4999`, `STANDBY_JOURNAL_ENCOUNTER_RANGE`).
Two nodes with ranges that do not overlap can never collide, whatever the interleaving;
on one node every number handed out is recorded (durably) before it is shown, unique per
kind, so two clerks at the same moment get two numbers. A number written on a
pre-printed band can be claimed (`claim`) when the paper is transcribed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from standby.clock import instant
from standby.journal import schema
from standby.store.base import Store

KINDS = ("mrn", "encounter")
_RANGE = re.compile(
    r"^(?P<prefix>[A-Za-z0-9-]*?)(?P<start>\d+)\.\.(?P<prefix2>[A-Za-z0-9-]*?)(?P<end>\d+)$"
)


class NumberError(ValueError):
    """A range that cannot be used, a range used up, or a number already handed out."""


@dataclass(frozen=True, slots=True)
class NumberRange:
    prefix: str
    start: int
    end: int
    width: int  # digits, zero-padded ("0001")

    def format(self, n: int) -> str:
        return f"{self.prefix}{n:0{self.width}d}"

    def number_of(self, value: str) -> int | None:
        """The number in `value` if it is one of this range's, else None."""
        if not value.startswith(self.prefix):
            return None
        digits = value[len(self.prefix) :]
        if not digits.isdigit() or len(digits) != self.width:
            return None
        n = int(digits)
        return n if self.start <= n <= self.end else None

    def overlaps(self, other: NumberRange) -> bool:
        """Whether some number could be written the same in both ranges."""
        if self.prefix != other.prefix or self.width != other.width:
            return False
        return self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return f"{self.format(self.start)}..{self.format(self.end)}"


def parse_range(text: str) -> NumberRange:
    """ "DT4W-0001..DT4W-4999" → prefix "DT4W-", 1 to 4999, four digits."""
    m = _RANGE.match(text.strip())
    if not m or m["prefix"] != m["prefix2"]:
        raise NumberError(
            f"{text!r} is not a range of downtime numbers: write it as FIRST..LAST with the"
            " same prefix, e.g. DT4W-0001..DT4W-4999"
        )
    start, end = m["start"], m["end"]
    if len(start) != len(end) or int(start) > int(end):
        raise NumberError(
            f"{text!r}: the first and last numbers need the same digits, first ≤ last"
        )
    return NumberRange(m["prefix"], int(start), int(end), len(start))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NumberError(f"unknown kind of downtime number {kind!r}")


def allocate(store: Store, kind: str, rng: NumberRange, node: str, now: datetime) -> str:
    """The next unused number of `rng`, recorded durably before it is returned."""
    _check_kind(kind)
    schema.ensure(store)
    for _ in range(100):  # another process may take the same number first: try the next
        with store.durable_transaction() as db:
            held = db.query(
                "SELECT max(number) FROM journal_numbers WHERE kind = ? AND prefix = ?"
                " AND number BETWEEN ? AND ?",
                (kind, rng.prefix, rng.start, rng.end),
            )[0][0]
            n = rng.start if held is None else int(held) + 1
            if n > rng.end:
                raise NumberError(
                    f"every downtime {kind} number of {rng} is used: give this node a new range"
                )
            value = rng.format(n)
            if db.execute(
                "INSERT INTO journal_numbers (kind, value, prefix, number, node, at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (kind, value, rng.prefix, n, node, instant(now)),
            ):
                return value
    raise NumberError(f"could not allocate a downtime {kind} number of {rng}")


def claim(store: Store, kind: str, value: str, rng: NumberRange, node: str, now: datetime) -> str:
    """Record `value` (a pre-printed number of this node's range, written on paper) as
    handed out; refused if it is not in the range or was handed out already."""
    _check_kind(kind)
    schema.ensure(store)
    n = rng.number_of(value)
    if n is None:
        raise NumberError(f"{value!r} is not a downtime {kind} number of this node ({rng})")
    with store.durable_transaction() as db:
        if not db.execute(
            "INSERT INTO journal_numbers (kind, value, prefix, number, node, at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (kind, value, rng.prefix, n, node, instant(now)),
        ):
            raise NumberError(f"downtime {kind} number {value} was handed out already")
    return value
