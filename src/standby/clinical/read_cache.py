"""Patient summaries, census rows and patient identities kept between page views, dropped
the moment anything in them changes.

Why: the summary is the viewer's most-read page, and building it (read a few hundred
resources, parse them, decide) costs more than everything else a page view does. During
an outage fifty nurses open the same few hundred patients again and again while the
replica barely changes. The census refreshes every row of a unit; the access check before
a summary needs the patient's unit.

What is kept is what `standby.clinical.summary` builds (`build_summary`,
`patient_identity`): the value, the "Type/id" keys it depends on and the instant it
expires. Exactness — a kept value is used only when both hold:

* **nothing it was built from has changed.** Before every lookup the cache reads the
  store's change marks since the last lookup (`Store.change_marks`: one indexed probe when
  nothing changed) and drops what it keeps of every patient a changed resource belongs
  to, and everything that contains or references the changed resource (a corrected
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
caching. Bounded: the least recently used entries go beyond `max_entries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from standby.clinical import directory as directory_mod
from standby.clinical.summary import (
    Extent,
    IdentityRead,
    PatientIdentity,
    SummaryRead,
    build_summary,
    patient_identity,
)
from standby.fhir.summary import PatientSummary
from standby.fhir.timing import StandardTimes
from standby.journal import repository as journal_repository
from standby.store.base import Store

DIRECTORY_TYPES = frozenset({"Location", "Practitioner", "PractitionerRole", "Organization"})
MARKS_PER_READ = 10000
MATCH_BUDGET = 200_000  # changes × entries matched one by one before clearing instead


class Read(Protocol):
    """What a kept value comes with (`SummaryRead`, `IdentityRead`)."""

    @property
    def keys(self) -> frozenset[str]: ...  # "Type/id" read or referenced

    @property
    def expires(self) -> datetime | None: ...  # when the clock changes it (None: never)


R = TypeVar("R", bound=Read)
JSON = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Entry:
    read: Read
    built_at: datetime
    expires: datetime  # built_at + max_age, or earlier when a dose changes state
    charted_until: datetime | None = None  # the downtime it was built for


class ReadCache:
    def __init__(
        self,
        store: Store,
        *,
        max_age: float,
        max_entries: int = 1000,
        standard_times: StandardTimes | None = None,
    ) -> None:
        self.store = store
        # the hospital's standard administration times: every summary is built with them
        self.standard_times = standard_times
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._kinds: set[str] = set()
        self._seq = store.last_seq() if max_age > 0 else None
        # entries written to the journal are followed the same way (docs/journal.md)
        self._jseq = journal_repository.last_seq(store) if self._seq is not None else 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._seq is not None

    def summary(
        self, patient_id: str, now: datetime, charted_until: datetime | None = None
    ) -> PatientSummary | None:
        """The patient's downtime summary at `now` (None: no such patient); during a
        downtime, `charted_until` is when the EHR stopped hearing of charting."""
        read = self.get(
            "summary",
            patient_id,
            now,
            lambda: build_summary(
                self.store,
                patient_id,
                now,
                charted_until=charted_until,
                standard_times=self.standard_times,
            ),
            charted_until=charted_until,
        )
        return None if read is None else read.summary

    def census_row(
        self,
        patient_id: str,
        now: datetime,
        charted_until: datetime | None = None,
        *,
        gathered: Sequence[JSON] | None = None,
    ) -> SummaryRead | None:
        """What a census row of the patient shows (`Extent.CENSUS_ROW`), with the bed of
        their current encounter; `gathered`: its resources, when the caller has read them
        (`build_summary`)."""
        return self.get(
            "census",
            patient_id,
            now,
            lambda: build_summary(
                self.store,
                patient_id,
                now,
                extent=Extent.CENSUS_ROW,
                patient_required=False,
                charted_until=charted_until,
                standard_times=self.standard_times,
                gathered=gathered,
            ),
            charted_until=charted_until,
        )

    def identity(self, patient_id: str, now: datetime) -> PatientIdentity | None:
        """Who the patient is and their unit (None: no such patient)."""
        read: IdentityRead | None = self.get(
            "identity", patient_id, now, lambda: patient_identity(self.store, patient_id, now)
        )
        return None if read is None else read.identity

    def get(
        self,
        kind: str,
        patient_id: str,
        now: datetime,
        build: Callable[[], R | None],
        *,
        charted_until: datetime | None = None,
    ) -> R | None:
        """What `build()` returns for this patient at `now` (for the downtime whose
        charting stopped at `charted_until`), reused under the rules above; None (no such
        patient) is not kept."""
        if not self.enabled:
            return build()
        self._follow_changes()
        key = (kind, patient_id)
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and entry.built_at <= now < entry.expires
                and entry.charted_until == charted_until
            ):
                self._entries.move_to_end(key)
                self.hits += 1
                return cast(R, entry.read)  # what `build` made for this kind
            self.misses += 1
            seen = self._seq
            jseen = self._jseq
        newest = self.store.last_seq()
        jnewest = journal_repository.last_seq(self.store)
        read = build()
        if read is None:
            return None
        with self._lock:
            # keep it only if every write up to the build was already followed, and no
            # change was applied meanwhile (it could concern what was just read)
            if (
                newest is not None
                and seen is not None
                and newest <= seen == self._seq
                and jnewest <= jseen == self._jseq
            ):
                expires = now + timedelta(seconds=self.max_age)
                if read.expires is not None and read.expires < expires:
                    expires = read.expires
                self._kinds.add(kind)
                self._entries[key] = _Entry(read, now, expires, charted_until)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return read

    def _follow_changes(self) -> None:
        self._follow_journal()
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
                for k in [k for k, e in self._entries.items() if ref in e.read.keys]:
                    del self._entries[k]
                shared = shared or rtype in DIRECTORY_TYPES
            self._seq = marks[-1][0]
        if shared:
            directory_mod.invalidate(self.store)

    def _follow_journal(self) -> None:
        """Drop what is kept of every patient the journal has new entries on."""
        with self._lock:
            after = self._jseq
        newest, patients = journal_repository.patients_since(self.store, after)
        if newest == after:
            return
        with self._lock:
            if self._jseq != after:
                return  # another thread has applied these already
            for patient_id in patients:
                for kind in self._kinds:
                    self._entries.pop((kind, patient_id), None)
            self._jseq = newest
