"""Staying fresh: one round of incremental sync, and the loop of rounds (`--watch`).

Two modes:

* `census` (default): find the census (`census.census_queries`), plan the searches
  (`census.plan_round`), run them on a bounded thread pool, following `next` links.
* `type`: every configured type searched type-wide by `_lastUpdated`, for servers that allow
  it.

A stream's high-water mark moves to the source's clock (its `Date` header) at the start of
the round only when every search of that stream succeeded in the round, and only after their
data is committed; so a process killed at any instant re-reads from the previous mark: no
loss, and re-received versions are no-ops in the store (no duplicates).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from standby import clock
from standby.fhir.gate import ReceivedResource
from standby.fhir.search_params import patient_compartment
from standby.store.base import Store
from standby.sync import checkpoints, pull_check, status
from standby.sync.auth import AuthError
from standby.sync.bundles import BundleReader
from standby.sync.census import (
    CensusConfig,
    SearchRequest,
    census_from,
    census_queries,
    census_streams,
    instant,
    parse_instant,
    plan_round,
    plan_type_round,
    unit_census_queries,
)
from standby.sync.deletes import NONE, HistoryDeletes
from standby.sync.http import FhirClient, SourceError, SourceUnreachable
from standby.sync.outcomes import server_said
from standby.sync.reconcile import Listing, Reconciler, ReconcileResult, plan_reconcile
from standby.sync.replica_writer import ReplicaWriter, WriteStats
from standby.sync.units import on_units, unit_locations

log = logging.getLogger("standby.sync.incremental")

PAGE_BATCH = 500  # resources of one page written per transaction
PAGE_BATCH_BYTES = 8 * 1024 * 1024  # ... or this much of their text, whichever comes first


@dataclass
class SearchResult:
    request: SearchRequest
    ok: bool
    stats: WriteStats = field(default_factory=WriteStats)
    error: str | None = None
    unreachable: bool = False
    date: datetime | None = None
    resources: list[dict[str, object]] = field(default_factory=list)
    outcome_error: str | None = None  # an OperationOutcome of severity error or fatal
    #: another Standby's "data as of" (its `X-Standby-Data-As-Of`): what it holds is only
    #: complete up to then, so the marks and this replica's "data as of" go no later
    upstream_as_of: datetime | None = None
    #: what passed the gate, held back instead of written (`search(hold=True)`)
    held: list[ReceivedResource] | None = None


@dataclass
class RoundResult:
    ok: bool
    started: datetime
    finished: datetime
    requests: int
    failed: int
    census: int
    stats: WriteStats
    reachable: bool


#: the header in which another Standby's FHIR API gives its "data as of" (`standby.api`)
UPSTREAM_AS_OF = "X-Standby-Data-As-Of"


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


def _server_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


class IncrementalSync:
    def __init__(
        self,
        client: FhirClient,
        store: Store,
        cfg: CensusConfig,
        *,
        mode: str = "census",
        types: Sequence[str] = (),
        workers: int = 4,
        max_bytes: int = 16 * 1024 * 1024,
        reconcile_minutes: float = 60.0,
    ) -> None:
        if mode not in ("census", "type"):
            raise ValueError(f"unknown sync mode {mode!r}: use census or type")
        self.client = client
        self.store = store
        self.cfg = cfg
        self.mode = mode
        self.types = tuple(types) or (cfg.patient_types + cfg.shared_types)
        self.streams = checkpoints.Streams(cfg.source)
        self.writer = ReplicaWriter(store, cfg.source, max_bytes=max_bytes)
        self._unit_locs: set[str] | None = None
        #: called after every round of `watch` (an edge node reads its central's status)
        self.after_round: Callable[[], object] = lambda: None
        self._locations = SearchResult(SearchRequest("census-query", "Location", ()), ok=True)
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sync")
        deleted_types = self.types if mode == "type" else cfg.patient_types + cfg.shared_types
        self.deletes = HistoryDeletes(
            client,
            store,
            self.writer,
            cfg.source,
            deleted_types,
            overlap_seconds=cfg.overlap_seconds,
            page_size=cfg.page_size,
        )
        # a reconciliation runs beside the rounds, never holding up their searches
        self.reconcile_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile")
        self._reconciling: Future[ReconcileResult] | None = None
        self.reconciler = Reconciler(
            client,
            store,
            self.writer,
            cfg,
            every_minutes=reconcile_minutes,
            refetch=lambda req: self.search(req).ok,
        )

    def _unit_locations(self) -> set[str] | None:
        """The Location ids of the edge node's units and below, read from the source once
        (and again while a unit is not found); None when the Locations could not be read."""
        if self._unit_locs is not None:
            return self._unit_locs
        req = SearchRequest(
            "census-query", "Location", (("_count", str(self.cfg.page_size)),), full=True
        )
        self._locations = self.search(req, keep=True)
        if not self._locations.ok:
            return None
        found, missing = unit_locations(self._locations.resources, self.cfg.units)
        if missing:
            with self.writer.lock:
                status.record_error(
                    self.store,
                    self.cfg.source,
                    "census",
                    f"no Location of the source is the unit {', '.join(missing)}",
                )
            return found
        self._unit_locs = found
        return found

    def close(self) -> None:
        self.reconcile_pool.shutdown(wait=True)
        self.pool.shutdown(wait=True)

    def wait_reconciled(self) -> None:
        """Wait until a reconciliation running in the background has written what it found
        (its errors count in the next round)."""
        running = self._reconciling
        if running is not None:
            running.result()

    # ---- one search, all its pages ------------------------------------------------------
    def search(self, req: SearchRequest, *, keep: bool = False, hold: bool = False) -> SearchResult:
        """All pages of one search, written as they come (`hold`: kept in `result.held`
        instead, for the caller to write what it decides to)."""
        result = SearchResult(req, ok=True, held=[] if hold else None)
        url: str | None = req.resource_type
        params: list[tuple[str, str]] | None = list(req.params)
        try:
            while url:
                r = self.client.request("GET", url, params=params)
                if result.date is None:
                    result.date = _server_date(r.headers.get("Date"))
                    result.upstream_as_of = parse_instant(r.headers.get(UPSTREAM_AS_OF))
                params = None
                page_url = str(r.request.url)
                reader = BundleReader(r.content)
                del r  # the page is held once, by the reader
                self._read_page(reader, page_url, result, keep)
                if reader.error:  # what the page held is written; the rest was not read
                    raise ValueError(f"a page could not be read whole: {reader.error}")
                url = reader.next_url
        except AuthError:
            raise
        except SourceUnreachable as e:
            result.ok, result.error, result.unreachable = False, str(e), True
        except (SourceError, ValueError, orjson.JSONDecodeError) as e:
            result.ok, result.error = False, f"{req.resource_type} search: {e}"
        if result.error:
            with self.writer.lock:
                status.record_error(self.store, self.cfg.source, "search", result.error)
            log.info("search failed", extra={"type": req.resource_type, "error": result.error})
        return result

    def _read_page(
        self, reader: BundleReader, page_url: str, result: SearchResult, keep: bool
    ) -> None:
        """Every entry of one page through the gate; what passes is written in batches
        (`PAGE_BATCH` resources or `PAGE_BATCH_BYTES`), so a huge page is never held parsed
        whole; OperationOutcomes are the server's word (`outcomes.server_said`)."""
        received: list[ReceivedResource] = []
        size = 0
        for e in reader.entries():
            if e.error is not None:
                self.writer.set_aside_unreadable(e, file=page_url)
                result.stats.quarantined += 1
                continue
            if e.raw is None or e.resource is None:
                continue
            if e.mode == "outcome" or e.resource.get("resourceType") == "OperationOutcome":
                problem = server_said(e.resource, result.request.resource_type, page_url)
                if problem and result.outcome_error is None:
                    result.outcome_error = problem
                continue
            got = self.writer.admit(e.raw, file=page_url, parsed=e.resource)
            if got is None:
                result.stats.quarantined += 1
                continue
            if keep:
                result.resources.append(e.resource)
            if result.held is not None:
                result.held.append(got)
                continue
            received.append(got)
            size += len(got.raw)
            if len(received) >= PAGE_BATCH or size >= PAGE_BATCH_BYTES:
                result.stats.add(self.writer.write(received))
                received, size = [], 0
        result.stats.add(self.writer.write(received))
        if result.outcome_error is not None:
            raise ValueError(f"the server answered with an error: {result.outcome_error}")

    # ---- one round ----------------------------------------------------------------------
    def run_round(self, now: datetime | None = None) -> RoundResult:
        started = now or clock.now()
        self._upstream: datetime | None = None
        status.round_started(self.store, self.cfg.source, self.client.base_url, started)
        stats = WriteStats()
        results: list[SearchResult] = []
        census_size = 0
        try:
            if self.mode == "census":
                mark = self.store.get_checkpoint(self.streams.census("Encounter"))
                located: set[str] | None = None
                if self.cfg.units:
                    located = self._unit_locations()
                    if located is None:
                        results.append(self._locations)
                        return self._finish(started, results, stats, 0)
                if located and self.cfg.encounter_location:
                    queries = unit_census_queries(self.cfg, located, mark)
                else:
                    queries = census_queries(self.cfg, started, mark)
                # an edge node's census answers (the hospital's, from a central node that
                # cannot search by location) are held back: only what concerns its units
                # is written
                units = bool(self.cfg.units)
                first = [self.search(q, keep=True, hold=units) for q in queries]
                results += first
                self._upstream = first[0].upstream_as_of
                server_start = _earliest(first[0].date, first[0].upstream_as_of)
                if not all(r.ok for r in first):
                    return self._finish(started, results, stats, 0)
                answers = [r for res in first for r in res.resources]
                if located is not None:
                    answers = list(on_units(answers, located))
                entries = census_from(answers, started, self.cfg.horizon_days)
                if self.cfg.units:
                    self._write_units_share(first, answers, {e.patient_id for e in entries})
                census_size = len(entries)
                known = checkpoints.load_census(self.store, self.cfg.source)
                hwms = checkpoints.load_hwms(self.store, census_streams(self.cfg))
                plan = plan_round(self.cfg, entries, known, hwms, started)
                checkpoints.save_census(
                    self.store, self.cfg.source, plan.current, plan.dropped_patients, started
                )
                requests = plan.requests
            else:
                streams = [self.streams.type(t) for t in self.types]
                requests = plan_type_round(
                    self.cfg, self.types, checkpoints.load_hwms(self.store, streams)
                )
                head = self.search(requests[0])
                results.append(head)
                self._upstream = head.upstream_as_of
                server_start = _earliest(head.date, head.upstream_as_of)
                requests = requests[1:]
            results += list(
                self.pool.map(lambda q: self.search(q, keep=pull_check.keeps(q)), requests)
            )
            if self.mode == "census":
                evidence = pull_check.census_evidence(r for res in first for r in res.resources)
                for why in pull_check.check_pulls(self.client, results, evidence, self.pool.map):
                    with self.writer.lock:
                        status.record_error(self.store, self.cfg.source, "verify", why)
            for r in results:
                stats.add(r.stats)
            vacuous = census_streams(self.cfg) if self.mode == "census" else []
            self._advance(results, server_start or started, vacuous)
            results += self._find_deletes(server_start or started, stats)
            return self._finish(started, results, stats, census_size)
        except AuthError as e:
            status.round_finished(
                self.store,
                self.cfg.source,
                started=started,
                finished=clock.now(),
                ok=False,
                reachable=not e.unreachable,
                error=str(e),
            )
            status.record_error(self.store, self.cfg.source, "auth", str(e))
            raise

    def _write_units_share(
        self, first: list[SearchResult], on_units: list[dict[str, object]], patients: set[str]
    ) -> None:
        """Of the census searches' answers, write the Encounters on the units and what
        belongs to the units' census patients; the rest (other units' patients) is
        dropped, never written to an edge node's replica."""
        keep = {(r.get("resourceType"), r.get("id")) for r in on_units}
        for res in first:
            mine = [
                got
                for got in res.held or []
                if (got.resource_type, got.id) in keep or patient_compartment(got.json) in patients
            ]
            res.stats.add(self.writer.write(mine))
            res.held = None

    def _advance(
        self, results: list[SearchResult], server_start: datetime, vacuous: Sequence[str]
    ) -> None:
        """Move the marks of streams whose searches all succeeded; mark pulled patients.

        `vacuous`: census streams that move even with no search this round (no patient was
        pulled yet): everyone pulled in this round was pulled after its start."""
        ok: dict[str, bool] = defaultdict(lambda: True)
        for stream in vacuous:
            ok[stream] = True
        for r in results:
            ok[r.request.stream] = ok[r.request.stream] and r.ok
        mark = instant(server_start - timedelta(seconds=1))  # Date has 1 s resolution
        pulled: list[str] = []
        for stream, good in ok.items():
            if not good:
                continue
            patients = checkpoints.pulled_patients(stream)
            if patients:
                pulled += patients
            elif self.streams.holds(stream):
                with self.writer.lock:
                    self.store.set_checkpoint(stream, mark)
        if pulled:
            with self.writer.lock:
                checkpoints.mark_pulled(self.store, self.cfg.source, pulled)

    def _find_deletes(self, server_start: datetime, stats: WriteStats) -> list[SearchResult]:
        """Deletes since the last round by `_history`; without it, a reconciliation of ids
        when one is due, run in the background (`standby.sync.deletes`,
        `standby.sync.reconcile`). A failure is returned as a failed result: the round (the
        one that finds a background reconciliation finished) is then not complete."""
        got = self.deletes.run(server_start)
        stats.deleted += got.tombstoned
        errors = [got.error] if got.error else []
        if got.level == NONE:
            running = self._reconciling
            if running is not None and running.done():  # its outcome counts in this round
                self._reconciling = None
                rec = running.result()
                stats.deleted += rec.tombstoned
                errors += rec.errors
            if self._reconciling is None and self.reconciler.due(clock.now()):
                self._reconciling = self.reconcile_pool.submit(
                    self.reconciler.whole, self._reconcile_plan
                )
        failed = []
        for error in errors:
            with self.writer.lock:
                status.record_error(self.store, self.cfg.source, "deletes", error)
            failed.append(
                SearchResult(SearchRequest("deletes", "_history", ()), False, error=error)
            )
        return failed

    def _reconcile_plan(self) -> list[Listing]:
        census = checkpoints.load_census(self.store, self.cfg.source)
        patients = sorted(pid for pid, (_, pulled) in census.items() if pulled)
        return plan_reconcile(self.cfg, self.mode, self.types, patients)

    def _finish(
        self, started: datetime, results: list[SearchResult], stats: WriteStats, census: int
    ) -> RoundResult:
        failed = [r for r in results if not r.ok]
        reachable = not any(r.unreachable for r in results)
        finished = clock.now()
        status.round_finished(
            self.store,
            self.cfg.source,
            started=_earliest(started, getattr(self, "_upstream", None)) or started,
            finished=finished,
            ok=not failed,
            reachable=reachable,
            error=failed[0].error if failed else None,
        )
        if failed:  # one line per round, however many searches failed in it
            log.warning(
                "%d of %d searches failed in this round; the first: %s",
                len(failed),
                len(results),
                failed[0].error,
                extra={"failed": len(failed), "requests": len(results)},
            )
        log.info(
            "round",
            extra={
                "ok": not failed,
                "requests": len(results),
                "failed": len(failed),
                "census": census,
                "written": stats.written,
                "unchanged": stats.unchanged,
                "quarantined": stats.quarantined,
                "seconds": round((finished - started).total_seconds(), 3),
            },
        )
        return RoundResult(
            ok=not failed,
            started=started,
            finished=finished,
            requests=len(results),
            failed=len(failed),
            census=census,
            stats=stats,
            reachable=reachable,
        )

    # ---- the loop -----------------------------------------------------------------------
    def watch(self, interval: float, *, rounds: int | None = None) -> None:
        """Rounds every `interval` seconds until interrupted. A refusal (AuthError) stops it;
        an unreachable token endpoint does not: the EHR is down, and the watch goes on
        trying so the replica catches up as soon as it is back."""
        n = 0
        while rounds is None or n < rounds:
            t0 = time.monotonic()
            try:
                self.run_round()
                self.after_round()
            except AuthError as e:
                if not e.unreachable:
                    raise
                log.warning("source unreachable: %s", e)
            except Exception as e:  # a round must never end the watch
                log.exception("round failed")
                status.record_error(self.store, self.cfg.source, "round", type(e).__name__)
            n += 1
            time.sleep(max(0.0, interval - (time.monotonic() - t0)))
