"""The whole sync, wired from settings: auth → HTTP client → seed (once) → rounds.

`standby sync` (src/standby/cli/sync.py) and `standby bench sync` call `SyncRunner`.
Auth is checked before anything is written, so a refused client leaves no partial state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from standby import clock
from standby.fhir.display import parse_instant as parse_fhir_instant
from standby.settings import Settings
from standby.store.base import Store
from standby.sync import status
from standby.sync.auth import Auth, SmartBackendAuth, make_auth
from standby.sync.bulk_export import BulkSeed, ExportConfig, SeedResult
from standby.sync.census import CensusConfig
from standby.sync.http import FhirClient, RetryPolicy
from standby.sync.incremental import IncrementalSync, RoundResult
from standby.sync.schema import ensure_sync_schema

log = logging.getLogger("standby.sync")


def census_config(settings: Settings) -> CensusConfig:
    return CensusConfig(
        source=settings.source_name,
        patient_types=tuple(settings.sync_patient_types),
        shared_types=tuple(settings.sync_shared_types),
        horizon_days=settings.sync_horizon_days,
        overlap_seconds=settings.sync_overlap_seconds,
        keep_hours=settings.sync_keep_hours,
        page_size=settings.sync_page_size,
        patients_per_search=settings.sync_patients_per_search,
    )


@dataclass
class SyncRunner:
    settings: Settings
    store: Store
    transport: Any = None  # an httpx transport (tests)

    def __post_init__(self) -> None:
        s = self.settings
        if not s.source_url:
            raise ValueError("no source: pass --source or set STANDBY_SOURCE_URL")
        self.auth: Auth = make_auth(
            s.auth,
            base_url=s.source_url,
            bearer_token=s.bearer_token,
            client_id=s.client_id,
            private_key=s.private_key,
            key_id=s.key_id,
            scope=s.scope,
        )
        self.client = FhirClient(
            s.source_url,
            auth=self.auth,
            concurrency=s.sync_concurrency,
            rate=s.sync_rate,
            timeout=s.sync_timeout_seconds,
            policy=RetryPolicy(max_attempts=s.sync_max_attempts),
            transport=self.transport,
            on_contact=status.ContactRecorder(self.store, s.source_name, s.source_url),
        )
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
            self.auth.token()

    def seed(self) -> SeedResult | RoundResult | None:
        """Seed an empty replica as `sync_seed_mode` says; None when already seeded."""
        s = self.settings
        ensure_sync_schema(self.store)
        if s.sync_seed_mode == "none":
            return None
        if s.sync_seed_mode == "bulk":
            seed = BulkSeed(
                self.client,
                self.store,
                self.incremental.writer,
                s.source_name,
                ExportConfig(
                    level=s.sync_export_level,
                    group_id=s.sync_export_group,
                    types=tuple(s.sync_export_types),
                    batch_size=s.ingest_batch_size,
                ),
            )
            if seed.done_before() and not self.store.get_checkpoint(seed.job_stream):
                return None
            started = _now()
            status.round_started(self.store, s.source_name, self.client.base_url, started)
            result = seed.run()
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
        if s.sync_seed_mode == "search":
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
        raise ValueError(f"unknown seed mode {s.sync_seed_mode!r}: use bulk, search or none")

    def run_round(self) -> RoundResult:
        return self.incremental.run_round()

    def watch(self, rounds: int | None = None) -> None:
        self.incremental.watch(self.settings.sync_interval_seconds, rounds=rounds)

    def close(self) -> None:
        self.incremental.close()
        self.client.close()


def _now() -> Any:
    return clock.now()
