"""Deletes and gaps found by comparing ids, for sources without `_history`
(`standby.sync.deletes` uses `_history` where offered).

Every `STANDBY_SYNC_RECONCILE_MINUTES`, for each synchronised type, the ids the source
holds are listed with `_elements=id` (https://hl7.org/fhir/R4/search.html#elements;
a server that ignores `_elements` sends whole resources, which are only counted) — type
wide in `type` mode and for shared types, per group of census patients in `census` mode
— and compared with the ids the replica holds:

* held but not listed: a candidate delete. Paging while the source changes can skip an
  entry, so each candidate is read (`GET [type]/[id]`): 404 or 410 → tombstone; a resource
  → written (it was only missed, or created after the listing began).
* listed but not held: re-fetched (`[type]?_id=a,b,c`), through the gate like any search.

A reconciliation runs in its own thread beside the rounds (`Reconciler.whole`, listings
`LISTINGS_PER_ROUND` at a time, candidates confirmed after the last), so it never holds up
a round's searches. What it plans is data (`plan_reconcile`); `Reconciler` carries it out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from standby import clock
from standby.store.base import Store
from standby.sync.bundles import BundleReader
from standby.sync.census import CensusConfig, SearchRequest, instant, parse_instant
from standby.sync.http import FhirClient, SourceError
from standby.sync.replica_writer import ReplicaWriter

log = logging.getLogger("standby.sync.reconcile")

RECONCILE = "reconcile"  # the group of re-fetch searches (no checkpoint of their own)
REFETCH_CHUNK = 50
LISTINGS_PER_ROUND = 20  # id listings read per step of a reconciliation


@dataclass(frozen=True)
class Listing:
    """One id listing: `params` of a search of `resource_type`; `patients`: whose
    resources it lists (None: type wide)."""

    resource_type: str
    params: tuple[tuple[str, str], ...]
    patients: tuple[str, ...] | None = None


@dataclass
class ReconcileResult:
    ran: bool = False
    ok: bool = True
    tombstoned: int = 0
    refetched: int = 0
    listed: int = 0
    errors: list[str] = field(default_factory=list)


def plan_reconcile(
    cfg: CensusConfig, mode: str, types: Sequence[str], patients: Sequence[str]
) -> list[Listing]:
    """The id listings of one reconciliation (pure)."""
    page = ("_count", str(max(cfg.page_size, 1000)))
    if mode == "type":
        return [Listing(t, (("_elements", "id"), page)) for t in types]
    out: list[Listing] = []
    size = max(1, cfg.patients_per_search)
    for i in range(0, len(patients), size):
        chunk = tuple(patients[i : i + size])
        for t in cfg.patient_types:
            key = (
                ("_id", ",".join(chunk))
                if t == "Patient"
                else ("patient", ",".join(f"Patient/{p}" for p in chunk))
            )
            out.append(Listing(t, (key, ("_elements", "id"), page), chunk))
    out += [Listing(t, (("_elements", "id"), page)) for t in cfg.shared_types]
    return out


class Reconciler:
    def __init__(
        self,
        client: FhirClient,
        store: Store,
        writer: ReplicaWriter,
        cfg: CensusConfig,
        *,
        every_minutes: float,
        refetch: Callable[[SearchRequest], bool],
        per_round: int = LISTINGS_PER_ROUND,
    ) -> None:
        self.client = client
        self.store = store
        self.writer = writer
        self.cfg = cfg
        self.every = timedelta(minutes=every_minutes)
        self.refetch = refetch  # runs one search through the sync's normal path; ok?
        self.stream = f"sync:{cfg.source}:reconcile"
        self.per_round = per_round
        self._pending: list[Listing] | None = None  # the listings of one in progress
        self._candidates: list[tuple[str, str]] = []
        self._present: tuple[str, str] | None = None

    def due(self, now: datetime) -> bool:
        last = parse_instant(self.store.get_checkpoint(self.stream))
        return self.every.total_seconds() > 0 and (last is None or now - last >= self.every)

    @property
    def in_progress(self) -> bool:
        return self._pending is not None

    def step(
        self, plan: Callable[[], Iterable[Listing]], now: datetime | None = None
    ) -> ReconcileResult | None:
        """One round's share of a reconciliation: at most `per_round` listings, so that a
        reconciliation never holds up a round's searches for long. A new one starts when
        one is due (`plan` gives its listings); candidates are confirmed once every listing
        was read. None when nothing was done this round."""
        started = now or clock.now()
        if self._pending is None:
            if not self.due(started):
                return None
            self._pending = list(plan())
            self._candidates, self._present = [], None
            # the attempt counts, failed or not: a source that cannot list ids is asked
            # again next period, not at every round (a failure is in status)
            with self.writer.lock:
                self.store.set_checkpoint(self.stream, instant(started))
        result = ReconcileResult(ran=True)
        batch, self._pending = self._pending[: self.per_round], self._pending[self.per_round :]
        for listing in batch:
            try:
                gone, listed = self._one(listing, result)
            except (SourceError, ValueError) as e:
                result.ok = False
                result.errors.append(f"reconcile {listing.resource_type}: {e}")
                continue
            self._candidates += gone
            self._present = self._present or listed
        if not self._pending:
            self._pending = None
            if self._candidates:
                try:
                    self._confirm_all(self._candidates, self._present, result)
                except SourceError as e:
                    result.ok = False
                    result.errors.append(f"reconcile: {e}")
            self._candidates = []
            log.info("reconciliation done", extra={"tombstoned": result.tombstoned})
        log.info(
            "reconciled",
            extra={
                "ok": result.ok,
                "listed": result.listed,
                "tombstoned": result.tombstoned,
                "refetched": result.refetched,
            },
        )
        return result

    def whole(self, plan: Callable[[], Iterable[Listing]]) -> ReconcileResult:
        """A whole reconciliation (run beside the rounds, in its own thread): never raises,
        its failures are in the result's errors."""
        total = ReconcileResult(ran=True)
        try:
            while True:
                got = self.step(plan)
                if got is None:
                    return total
                total.ok = total.ok and got.ok
                total.tombstoned += got.tombstoned
                total.refetched += got.refetched
                total.listed += got.listed
                total.errors += got.errors
                if not self.in_progress:
                    return total
        except Exception as e:  # a reconciliation must never end the sync
            log.exception("reconciliation failed")
            self._pending = None
            total.ok = False
            total.errors.append(f"reconcile: {type(e).__name__}: {e}")
            return total

    def _confirm_all(
        self,
        candidates: list[tuple[str, str]],
        present: tuple[str, str] | None,
        result: ReconcileResult,
    ) -> None:
        """Read each candidate; tombstone those gone. First, a read of a resource the
        source listed must answer 200: a source whose reads answer 404 for everything (no
        read interaction, a wrong base URL) must not empty the replica."""
        if present is None:
            result.errors.append(
                f"reconcile: {len(candidates)} resources not listed by the source, but it "
                "listed none to check its reads by: no delete confirmed"
            )
            result.ok = False
            return
        r = self.client.request("GET", f"{present[0]}/{present[1]}", ok=(200, 404, 410))
        if r.status_code != 200:
            result.errors.append(
                f"reconcile: reading {present[0]} listed by the source answered "
                f"{r.status_code}: no delete confirmed"
            )
            result.ok = False
            return
        for rtype, rid in candidates:
            result.tombstoned += self._confirm_gone(rtype, rid)

    def _source_ids(self, listing: Listing) -> set[str]:
        """The ids the source lists."""
        ids: set[str] = set()
        url: str | None = listing.resource_type
        params: list[tuple[str, str]] | None = list(listing.params)
        while url:
            r = self.client.request("GET", url, params=params)
            params = None
            reader = BundleReader(r.content)
            for e in reader.entries():
                res = e.resource
                if (
                    res is not None
                    and res.get("resourceType") == listing.resource_type
                    and isinstance(res.get("id"), str)
                ):
                    ids.add(res["id"])
            if reader.error:
                raise ValueError(f"an id listing could not be read whole: {reader.error}")
            url = reader.next_url
        return ids

    def _held_ids(self, listing: Listing) -> dict[str, str]:
        """id → meta.lastUpdated of what the replica holds for this listing."""
        t = listing.resource_type
        if listing.patients is None:
            return {r.id: r.last_updated for r in self.store.iter_type(t)}
        out: dict[str, str] = {}
        for pid in listing.patients:
            if t == "Patient":
                held = self.store.read("Patient", pid)
                if held is not None and not held.deleted:
                    out[pid] = held.last_updated
                continue
            for r in self.store.compartment(pid, [t]):
                if r.resource_type == t:
                    out[r.id] = r.last_updated
        return out

    def _one(
        self, listing: Listing, result: ReconcileResult
    ) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
        """Re-fetch what the replica misses; the held ids the source did not list (to
        confirm), and one it did list."""
        source_ids = self._source_ids(listing)
        result.listed += len(source_ids)
        held = self._held_ids(listing)
        t = listing.resource_type
        missing = sorted(source_ids - set(held))
        for i in range(0, len(missing), REFETCH_CHUNK):
            chunk = missing[i : i + REFETCH_CHUNK]
            req = SearchRequest(RECONCILE, t, (("_id", ",".join(chunk)),))
            if self.refetch(req):
                result.refetched += len(chunk)
            else:
                result.ok = False
        listed = next(((t, i) for i in sorted(source_ids & set(held))), None)
        return [(t, rid) for rid in sorted(set(held) - source_ids)], listed

    def _confirm_gone(self, rtype: str, rid: str) -> int:
        """Read one candidate at the source: tombstone it when it is gone."""
        r = self.client.request("GET", f"{rtype}/{rid}", ok=(200, 404, 410))
        if r.status_code == 200:
            got = self.writer.admit(r.content, file=str(r.request.url), expected=rtype)
            if got is not None:
                self.writer.write([got])
            return 0
        held = self.store.read(rtype, rid)
        stamp = _date_instant(r.headers.get("Date"))
        at, held_at = parse_instant(stamp), parse_instant(held.last_updated if held else None)
        if at is not None and held_at is not None and at <= held_at:
            stamp = None  # a source clock behind the held version's: the store's clock
        self.writer.tombstone(rtype, rid, version_id=None, last_updated=stamp)
        after = self.store.read(rtype, rid)
        return 1 if after is not None and after.deleted else 0


def _date_instant(value: str | None) -> str | None:
    import email.utils
    from datetime import UTC

    if not value:
        return None
    try:
        return instant(email.utils.parsedate_to_datetime(value).astimezone(UTC))
    except (TypeError, ValueError):
        return None
