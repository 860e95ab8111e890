"""The whole sync, wired from settings: auth → HTTP client → the source's capabilities →
the plan → seed (once) → rounds.

`standby sync` (src/standby/cli/sync.py) and `standby bench sync` call `SyncRunner`.
Auth is checked before anything is written, so a refused client leaves no partial state.
The plan (plan.py) is made from the source's CapabilityStatement once per process: the
seed method when `sync_seed_mode` is `auto`, the types it offers, and the parameter naming
the patient. Every seed failure is recorded in status before it is raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from standby import clock
from standby.fhir.display import parse_instant as parse_fhir_instant
from standby.settings import Settings
from standby.store.base import Store
from standby.sync import status, upstream
from standby.sync.auth import Auth, AuthError, SmartBackendAuth, make_auth
from standby.sync.bulk_export import BulkSeed, ExportConfig, SeedResult
from standby.sync.capabilities import ServerCapabilities, discover
from standby.sync.census import CensusConfig
from standby.sync.http import FhirClient, RetryPolicy, SourceError, SourceUnreachable
from standby.sync.incremental import IncrementalSync, RoundResult
from standby.sync.plan import SyncPlan, make_plan
from standby.sync.schema import ensure_sync_schema

log = logging.getLogger("standby.sync")


def census_config(settings: Settings, plan: SyncPlan | None = None) -> CensusConfig:
    """The census configuration from the settings, reduced to what `plan` found offered."""
    return CensusConfig(
        source=settings.source_name,
        patient_types=plan.patient_types if plan else tuple(settings.sync_patient_types),
        shared_types=plan.shared_types if plan else tuple(settings.sync_shared_types),
        patient_params=plan.patient_params() if plan else (),
        horizon_days=settings.sync_horizon_days,
        overlap_seconds=settings.sync_overlap_seconds,
        keep_hours=settings.sync_keep_hours,
        page_size=settings.sync_page_size,
        patients_per_search=settings.sync_patients_per_search,
        units=tuple(settings.sync_units),
        encounter_location=plan.encounter_location if plan else True,
    )


def sync_plan(settings: Settings, caps: ServerCapabilities) -> SyncPlan:
    """The plan for `settings` against a source offering `caps`."""
    made = make_plan(
        caps,
        seed_mode=settings.sync_seed_mode,
        sync_mode=settings.sync_mode,
        patient_types=settings.sync_patient_types,
        shared_types=settings.sync_shared_types,
        export_level=settings.sync_export_level,
        horizon_days=settings.sync_horizon_days,
    )
    if settings.sync_units and made.seed != "none":
        # an edge node copies its units' patients, never the whole hospital
        why = (
            f"an edge node of {', '.join(settings.sync_units)}: the census rounds pull "
            "each of the units' patients in full"
        )
        made = replace(made, seed="census", seed_reason=why)
    return made


def make_client(settings: Settings, auth: Auth, **kw: Any) -> FhirClient:
    s = settings
    return FhirClient(
        s.source_url or "",
        auth=auth,
        concurrency=s.sync_concurrency,
        rate=s.sync_rate,
        timeout=s.sync_timeout_seconds,
        policy=RetryPolicy(max_attempts=s.sync_max_attempts),
        **kw,
    )


def settings_auth(s: Settings) -> Auth:
    if not s.source_url:
        raise ValueError("no source: pass --source or set STANDBY_SOURCE_URL")
    return make_auth(
        s.auth,
        base_url=s.source_url,
        bearer_token=s.bearer_token,
        client_id=s.client_id,
        private_key=s.private_key,
        key_id=s.key_id,
        scope=s.scope,
    )


@dataclass
class SyncRunner:
    settings: Settings
    store: Store
    transport: Any = None  # an httpx transport (tests)

    def __post_init__(self) -> None:
        s = self.settings
        self.auth: Auth = settings_auth(s)
        self.client = make_client(
            s,
            self.auth,
            transport=self.transport,
            on_contact=status.ContactRecorder(self.store, s.source_name, s.source_url or ""),
        )
        self.plan: SyncPlan | None = None
        self.cfg = census_config(s)
        self.incremental = IncrementalSync(
            self.client,
            self.store,
            self.cfg,
            mode=s.sync_mode,
            workers=s.sync_concurrency,
            max_bytes=s.max_resource_bytes,
            reconcile_minutes=s.sync_reconcile_minutes,
        )

    def check_auth(self) -> None:
        """Get a token now (AuthError if refused), before anything is written."""
        if isinstance(self.auth, SmartBackendAuth):
            try:
                self.auth.token()
            except AuthError as e:
                if e.unreachable:  # what status and an edge node's banner say: not answering
                    s = self.settings
                    status.record_contact(
                        self.store, s.source_name, s.source_url or "", answered=False, at=_now()
                    )
                raise

    def prepare(self) -> SyncPlan:
        """Read the source's capabilities (once) and follow the plan made from them: the
        types it offers, the parameter naming the patient. Logged, and kept for status."""
        if self.plan is not None:
            return self.plan
        ensure_sync_schema(self.store)
        caps = discover(self.client)
        if not caps.known and caps.problem and not caps.retry:
            status.record_error(self.store, self.settings.source_name, "capabilities", caps.problem)
        plan = sync_plan(self.settings, caps)
        if (caps.software or "").startswith("Standby"):
            # another Standby: an edge node keeps what it says of itself and of the EHR
            url = self.settings.source_url or ""
            name = self.settings.source_name
            self.incremental.after_round = lambda: upstream.fetch(self.store, url, source=name)
        if not caps.retry:  # an unreachable source is asked again at the next round
            self.plan = plan
        self.cfg = census_config(self.settings, plan)
        self.incremental.cfg = self.cfg
        self.incremental.types = self.cfg.patient_types + self.cfg.shared_types
        status.record_plan(self.store, self.settings.source_name, plan.summary())
        log.info(
            "plan",
            extra={
                "seed": plan.seed,
                "why": plan.seed_reason,
                "types": len(plan.types),
                "unavailable": "; ".join(w for w, _ in plan.unavailable),
            },
        )
        for w in plan.warnings:
            log.warning("plan: %s", w)
        return plan

    def seeded_before(self) -> str | None:
        """How an earlier seed was made ("bulk", "search", "census"), None if never."""
        streams = self.incremental.streams
        chosen = self.store.get_checkpoint(streams.seed)
        if chosen:
            return chosen.split(":", 1)[0]
        if self.store.get_checkpoint(streams.search_seed):
            return "search"
        if self.store.get_checkpoint(streams.bulk_since) and not self.store.get_checkpoint(
            streams.bulk_job
        ):
            return "bulk"
        return None

    def seed(self) -> SeedResult | RoundResult | None:
        """Seed an empty replica as the plan says; None when already seeded (or no seed).
        A failure is recorded in status (the round and an error event) before it is raised."""
        s = self.settings
        plan = self.prepare()
        method = plan.seed
        if method == "none":
            return None
        if s.sync_seed_mode == "auto" and self.seeded_before():
            return None
        if method == "census":
            self.store.set_checkpoint(self.incremental.streams.seed, f"census: {plan.seed_reason}")
            log.info("seed: census — %s", plan.seed_reason)
            return None
        try:
            result = self._seed(method, plan)
        except SourceError as e:
            if (
                s.sync_seed_mode == "auto"
                and method == "bulk"
                and not isinstance(e, SourceUnreachable)
            ):
                self._fall_back(e)
                return None
            raise
        if s.sync_seed_mode == "auto" and _seed_ok(result):
            self.store.set_checkpoint(
                self.incremental.streams.seed, f"{method}: {plan.seed_reason}"
            )
        return result

    def _fall_back(self, e: SourceError) -> None:
        """`auto` tried `$export` on a source that did not say (its CapabilityStatement
        could not be read) and was refused: seed through the census rounds instead, and
        remember it, so that later rounds do not try `$export` again."""
        why = f"$export was refused ({e}); the census rounds pull each census patient in full"
        status.record_error(self.store, self.settings.source_name, "seed", why)
        self.store.set_checkpoint(self.incremental.streams.seed, f"census: {why}")
        status.record_plan(self.store, self.settings.source_name, f"census: {why}")
        log.warning("seed: census — %s", why)

    def _seed(self, method: str, plan: SyncPlan) -> SeedResult | RoundResult | None:
        s = self.settings
        if method == "bulk":
            seed = BulkSeed(
                self.client,
                self.store,
                self.incremental.writer,
                s.source_name,
                ExportConfig(
                    level=plan.export_level or s.sync_export_level,
                    group_id=s.sync_export_group,
                    types=tuple(s.sync_export_types),
                    batch_size=s.ingest_batch_size,
                ),
            )
            if seed.done_before() and not self.store.get_checkpoint(seed.job_stream):
                return None
            started = _now()
            status.round_started(self.store, s.source_name, self.client.base_url, started)
            try:
                result = seed.run()
            except Exception as e:
                status.round_finished(
                    self.store,
                    s.source_name,
                    started=started,
                    finished=_now(),
                    ok=False,
                    reachable=not isinstance(e, SourceUnreachable),
                    error=f"seed by $export failed: {e}",
                )
                status.record_error(self.store, s.source_name, "seed", f"$export: {e}")
                raise
            status.round_finished(
                self.store,
                s.source_name,
                started=parse_fhir_instant(result.transaction_time) or started,
                finished=_now(),
                ok=True,
                reachable=True,
            )
            if result.transaction_time:
                for t in self.cfg.shared_types:
                    stream = self.incremental.streams.type(t)
                    if not self.store.get_checkpoint(stream):
                        self.store.set_checkpoint(stream, result.transaction_time)
            return result
        if method == "search":
            stream = self.incremental.streams.search_seed
            if self.store.get_checkpoint(stream):
                return None
            once = IncrementalSync(
                self.client,
                self.store,
                self.cfg,
                mode="type",
                workers=s.sync_concurrency,
                max_bytes=s.max_resource_bytes,
            )
            try:
                r = once.run_round()
            finally:
                once.close()
            if r.ok:
                self.store.set_checkpoint(stream, "done")
            return r
        raise ValueError(f"unknown seed mode {method!r}: use auto, bulk, search or none")

    def run_round(self) -> RoundResult:
        self.prepare()
        result = self.incremental.run_round()
        self.incremental.after_round()
        return result

    def watch(self, rounds: int | None = None) -> None:
        self.prepare()
        self.incremental.watch(self.settings.sync_interval_seconds, rounds=rounds)

    def close(self) -> None:
        self.incremental.close()
        self.client.close()


def _now() -> Any:
    return clock.now()


def _seed_ok(result: SeedResult | RoundResult | None) -> bool:
    return result is not None and bool(getattr(result, "ok", True))
