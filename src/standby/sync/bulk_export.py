"""The seed: FHIR Bulk Data v2 `$export` straight into the replica.

https://hl7.org/fhir/uv/bulkdata/export.html — kick-off (`Prefer: respond-async`, 202 with
`Content-Location`), status polling that honours `Retry-After` (backing off when there is
none), the manifest's `output` files streamed line by line into the store (never a whole
file in memory), its `error` files recorded, its `deleted` files turned into tombstones,
the export DELETEd when done, and `transactionTime` kept as the next `_since`.

Resuming after a crash: the status URL is a checkpoint (`sync:<source>:bulk:job`), and each
file's count of lines done (`sync:<source>:bulk:file:<url>`) is committed in the same
transaction as those lines; a restarted seed polls the same export again and skips the
lines already held. If the export has gone (404/410), it starts a new one: writes are
idempotent, so nothing is duplicated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import orjson

from standby.fhir.gate import ReceivedResource, Refusal
from standby.store.base import IngestReport, Store
from standby.store.ingest import ingest_lines, split_lines
from standby.sync import status
from standby.sync.checkpoints import Streams
from standby.sync.feed_copies import superseded
from standby.sync.http import FhirClient, SourceError, parse_retry_after
from standby.sync.replica_writer import ReplicaWriter, WriteStats

log = logging.getLogger("standby.sync.bulk")

NDJSON = "application/fhir+ndjson"


@dataclass(frozen=True)
class ExportConfig:
    level: str = "system"  # system | patient | group
    group_id: str | None = None
    types: tuple[str, ...] = ()
    since: str | None = None
    batch_size: int = 1000
    poll_max_wait: float = 30.0
    poll_timeout: float = 6 * 3600.0

    def kickoff_path(self) -> str:
        if self.level == "system":
            return "$export"
        if self.level == "patient":
            return "Patient/$export"
        if self.level == "group":
            if not self.group_id:
                raise ValueError("a Group-level export needs a group id")
            return f"Group/{self.group_id}/$export"
        raise ValueError(f"unknown export level {self.level!r}: use system, patient or group")


@dataclass
class SeedResult:
    transaction_time: str | None
    files: int = 0
    lines: int = 0
    stats: WriteStats = field(default_factory=WriteStats)
    error_lines: int = 0
    deleted: int = 0
    seconds: float = 0.0


class SeedFailed(SourceError):
    """The export could not be started or completed (a clear message says why)."""


class BulkSeed:
    def __init__(
        self,
        client: FhirClient,
        store: Store,
        writer: ReplicaWriter,
        source: str,
        cfg: ExportConfig,
        sleep: Any = time.sleep,
    ) -> None:
        self.client = client
        self.store = store
        self.writer = writer
        self.source = source
        self.cfg = cfg
        self._sleep = sleep
        self.streams = Streams(source)
        self.job_stream = self.streams.bulk_job
        self.since_stream = self.streams.bulk_since

    def done_before(self) -> str | None:
        """transactionTime of the last completed seed (None: never seeded)."""
        return self.store.get_checkpoint(self.since_stream) or None

    # ---- kick-off and polling ------------------------------------------------------------
    def kickoff(self) -> str:
        params: list[tuple[str, str]] = [("_outputFormat", NDJSON)]
        if self.cfg.types:
            params.append(("_type", ",".join(self.cfg.types)))
        if self.cfg.since:
            params.append(("_since", self.cfg.since))
        r = self.client.request(
            "GET",
            self.cfg.kickoff_path(),
            params=params,
            headers={"Prefer": "respond-async", "Accept": "application/fhir+json"},
            ok=(202,),
        )
        url = r.headers.get("Content-Location")
        if not url:
            raise SeedFailed("the export kick-off answered 202 without Content-Location")
        with self.writer.lock:
            self.store.set_checkpoint(self.job_stream, url)
        log.info("export started", extra={"status_url": url.split("?")[0]})
        return url

    def poll(self, url: str) -> dict[str, Any] | None:
        """The manifest; None when the export is gone (404/410)."""
        deadline = time.monotonic() + self.cfg.poll_timeout
        wait = 0.5
        while True:
            r = self.client.request(
                "GET", url, headers={"Accept": "application/json"}, ok=(200, 202, 404, 410)
            )
            if r.status_code in (404, 410):
                return None
            if r.status_code == 200:
                manifest = r.json()
                if not isinstance(manifest, dict):
                    raise SeedFailed("the export manifest is not a JSON object")
                return manifest
            if time.monotonic() > deadline:
                raise SeedFailed(f"the export did not complete in {self.cfg.poll_timeout:.0f} s")
            after = parse_retry_after(r.headers.get("Retry-After"))
            delay = min(self.cfg.poll_max_wait, after if after is not None else wait)
            wait = min(self.cfg.poll_max_wait, wait * 2)
            log.info("export in progress", extra={"progress": r.headers.get("X-Progress")})
            self._sleep(delay)

    # ---- files ---------------------------------------------------------------------------
    def ingest_file(self, url: str, rtype: str | None, result: SeedResult) -> None:
        """Stream one output file into the store, resuming after the lines already held."""
        stream = self.streams.bulk_file(url)
        done = self.store.get_checkpoint(stream) or "0"
        if done == "done":
            return
        skip = int(done)
        attempts = 0
        while True:
            try:
                self._ingest_from(url, rtype, stream, skip, result)
                break
            except (httpx.TransportError, httpx.StreamError) as e:
                attempts += 1
                if attempts >= self.client.policy.max_attempts:
                    raise SeedFailed(f"download of {url} broke {attempts} times: {e!r}") from e
                skip = int(self.store.get_checkpoint(stream) or "0")
                self._sleep(self.client.policy.backoff(attempts, self.client._rng))
        with self.writer.lock:
            self.store.set_checkpoint(stream, "done")
        result.files += 1

    def _ingest_from(
        self, url: str, rtype: str | None, stream: str, skip: int, result: SeedResult
    ) -> None:
        report = IngestReport()
        try:
            with self.client.stream("GET", url, headers={"Accept": NDJSON}) as r:
                ingest_lines(
                    self.store,
                    split_lines(r.iter_bytes(), self.writer.max_bytes),
                    file=url,
                    source=self.writer.source,
                    max_bytes=self.writer.max_bytes,
                    batch_size=self.cfg.batch_size,
                    expected_type=rtype,
                    checkpoint=stream,
                    skip=skip,
                    report=report,
                    also=self._feed_copies,
                )
        finally:  # what was committed before a broken download counts too
            result.lines += report.lines
            result.stats.add_report(report)

    def _feed_copies(self, batch: Sequence[ReceivedResource]) -> Callable[[], None] | None:
        """The HL7 v2 feed's copies of what this batch brings, superseded in its transaction
        (as `ReplicaWriter.write` does for a round: docs/hl7.md, "Which source wins")."""
        plan = superseded(self.store, [r.json for r in batch])
        return partial(plan.apply, self.store) if plan else None

    def record_errors(self, url: str, result: SeedResult) -> None:
        """The manifest's error files: OperationOutcomes, recorded (first 20 in full)."""
        with self.client.stream("GET", url, headers={"Accept": NDJSON}) as r:
            for line, _ in split_lines(r.iter_bytes(), 1 << 20):
                if not line.strip():
                    continue
                result.error_lines += 1
                if result.error_lines <= 20:
                    try:
                        issues = orjson.loads(line).get("issue") or []
                        text = "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues)
                    except (orjson.JSONDecodeError, AttributeError):
                        text = "unreadable OperationOutcome"
                    with self.writer.lock:
                        status.record_error(self.store, self.source, "export-error", text[:300])

    def apply_deleted(self, url: str, result: SeedResult) -> None:
        """The manifest's `deleted` files: Bundles of DELETE requests → tombstones."""
        with self.client.stream("GET", url, headers={"Accept": NDJSON}) as r:
            for line, _ in split_lines(r.iter_bytes(), self.writer.max_bytes):
                if not line.strip():
                    continue
                try:
                    bundle = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self.writer.set_aside(
                        line, Refusal("malformed deleted-resources Bundle"), file=url
                    )
                    continue
                for e in bundle.get("entry") or []:
                    ref = str((e.get("request") or {}).get("url", ""))
                    rtype, _, rid = ref.partition("/")
                    if rtype and rid:
                        self.writer.tombstone(rtype, rid.split("/")[0])
                        result.deleted += 1

    # ---- the whole seed ------------------------------------------------------------------
    def run(self) -> SeedResult:
        t0 = time.monotonic()
        url = self.store.get_checkpoint(self.job_stream) or None
        manifest = self.poll(url) if url else None
        if manifest is None:
            url = self.kickoff()
            manifest = self.poll(url)
            if manifest is None:
                raise SeedFailed("the export vanished while it was being prepared")
        assert url is not None
        result = SeedResult(transaction_time=manifest.get("transactionTime"))
        for item in manifest.get("output") or []:
            self.ingest_file(str(item["url"]), item.get("type"), result)
        for item in manifest.get("deleted") or []:
            self.apply_deleted(str(item["url"]), result)
        for item in manifest.get("error") or []:
            self.record_errors(str(item["url"]), result)
        with self.writer.lock:
            if result.transaction_time:
                self.store.set_checkpoint(self.since_stream, str(result.transaction_time))
            self.store.set_checkpoint(self.job_stream, "")
        try:
            self.client.request("DELETE", url, ok=(200, 202, 204, 404, 410))
        except SourceError as e:
            log.warning("export not deleted", extra={"error": str(e)})
        result.seconds = time.monotonic() - t0
        log.info(
            "seed done",
            extra={
                "files": result.files,
                "lines": result.lines,
                "written": result.stats.written,
                "quarantined": result.stats.quarantined,
                "seconds": round(result.seconds, 2),
            },
        )
        return result
