"""Patient summaries kept between page views, dropped the moment anything in them changes.

Why: the summary is the viewer's most-read page, and building it (read a few hundred
resources, parse them, decide) costs more than everything else a page view does. During
an outage fifty nurses open the same few hundred patients again and again while the
replica barely changes.

Exactness — a cached summary is used only when both hold:

* **nothing it was built from has changed.** Before every lookup the cache reads the
  store's change marks since the last lookup (`Store.change_marks`: one indexed probe when
  nothing changed) and drops the summary of every patient a changed resource belongs to,
  and every summary that contains or references the changed resource (a corrected
  Observation moved to another patient, a Medication or Location renamed, a referenced
  resource that has just arrived). A new allergy shows on the very next page view;
* **the clock has not moved past what it shows.** What is due and what is overdue is
  exact: a summary expires at the first instant one of its doses turns due, turns
  overdue or leaves the lookback (`standby.fhir.mar.next_change`). Everything else the
  clock moves — which vitals and labs fall in the last 48 hours, which administrations in
  the last 24, age and length of stay — may lag by at most `max_age` seconds (the setting
  `summary_cache_seconds`, default 60; 0 turns the cache off). The page says when its
  summary was built.

One cache per process; engines without change marks (`Store.last_seq()` is None) get no
caching. Bounded: the least recently used summaries go beyond `max_entries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from standby.clinical import directory as directory_mod
from standby.clinical.patients import summary_inputs
from standby.fhir.mar import next_change
from standby.fhir.summary import PatientSummary
from standby.fhir.summary import patient_summary as summarise
from standby.store.base import Store

DIRECTORY_TYPES = frozenset({"Location", "Practitioner", "PractitionerRole", "Organization"})
MARKS_PER_READ = 10000
MATCH_BUDGET = 200_000  # changes × entries matched one by one before clearing instead
# what builds a cached item: (value or None, "Type/id" read or referenced, the instant
# the clock changes it — `standby.fhir.mar.next_change` — or None)
Builder = Callable[[], tuple[Any, frozenset[str], datetime | None]]


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any  # a PatientSummary, or what another `kind` keeps (a census row's inputs)
    built_at: datetime
    expires: datetime  # built_at + max_age, or earlier when a dose changes state
    keys: frozenset[str]  # "Type/id" of every resource read or referenced


class SummaryCache:
    def __init__(self, store: Store, *, max_age: float, max_entries: int = 1000) -> None:
        self.store = store
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._kinds: set[str] = set()
        self._seq = store.last_seq() if max_age > 0 else None
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._seq is not None

    def summary(self, patient_id: str, now: datetime) -> PatientSummary | None:
        """The patient's downtime summary at `now` (None: no such patient)."""
        value = self.get("summary", patient_id, now, lambda: _build(self.store, patient_id, now))
        return cast(PatientSummary | None, value)

    def get(self, kind: str, patient_id: str, now: datetime, build: Builder) -> Any:
        """What `build()` returns for this patient at `now`, reused under the rules above.
        `build` returns (value or None, the "Type/id" keys it read or referenced, the
        instant the clock changes the value or None); a None value is not kept."""
        if not self.enabled:
            return build()[0]
        self._follow_changes()
        key = (kind, patient_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.built_at <= now < entry.expires:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.value
            self.misses += 1
            seen = self._seq
        newest = self.store.last_seq()
        value, keys, change = build()
        if value is None:
            return None
        with self._lock:
            # keep it only if every write up to the build was already followed, and no
            # change was applied meanwhile (it could concern what was just read)
            if newest is not None and seen is not None and newest <= seen == self._seq:
                expires = now + timedelta(seconds=self.max_age)
                if change is not None and change < expires:
                    expires = change
                self._kinds.add(kind)
                self._entries[key] = _Entry(value, now, expires, keys)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def _follow_changes(self) -> None:
        with self._lock:
            after = self._seq
        if after is None:
            return
        marks = self.store.change_marks(after, limit=MARKS_PER_READ)
        if not marks:
            return
        with self._lock:
            if self._seq != after:
                return  # another thread has applied these already
            # a bulk load, or more changes than are worth matching entry by entry (each
            # change is looked for in every entry): start afresh, which is always correct
            if len(marks) >= MARKS_PER_READ or len(marks) * len(self._entries) > MATCH_BUDGET:
                self._entries.clear()
                self._seq = self.store.last_seq()
                directory_mod.invalidate(self.store)
                return
            shared = False
            for _seq, rtype, rid, patient_id in marks:
                if patient_id is not None:
                    for kind in self._kinds:
                        self._entries.pop((kind, patient_id), None)
                ref = f"{rtype}/{rid}"
                for k in [k for k, e in self._entries.items() if ref in e.keys]:
                    del self._entries[k]
                shared = shared or rtype in DIRECTORY_TYPES
            self._seq = marks[-1][0]
        if shared:
            directory_mod.invalidate(self.store)


def _build(
    store: Store, patient_id: str, now: datetime
) -> tuple[Any, frozenset[str], datetime | None]:
    inputs = summary_inputs(store, patient_id)
    if inputs is None:
        return None, frozenset(), None
    resources, resolved, held_types, keys = inputs
    summary = summarise(resources, now, resolved=resolved, held_types=held_types)
    return summary, keys, next_change(summary.mar)
