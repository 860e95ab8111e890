"""Bulk Data Access v2 `$export` jobs for the simulated EHR.

https://hl7.org/fhir/uv/bulkdata/export.html — kick-off (system, Patient, Group level) with
`Prefer: respond-async` → 202 + `Content-Location`; the status URL answers 202 with
`Retry-After` and `X-Progress` while the job runs in a background thread, then 200 with the
manifest (`transactionTime`, `request`, `requiresAccessToken`, `output`, `error`, and
`deleted` for `_since` requests); DELETE cancels and removes the files (202), after which
the status URL is 404. Files are NDJSON written to a temporary directory, at most
`per_file` resources each, streamed from the store (never held whole in memory).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standby.store import Store, StoredResource


@dataclass
class ExportJob:
    id: str
    request: str
    types: list[str]
    since: str | None
    patients: list[str] | None  # None: system level
    transaction_time: str
    dir: Path
    status: str = "running"  # running | done | failed | cancelled
    progress: str = "queued"
    output: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)


def _now_instant() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


KEPT_FINISHED = 8  # finished jobs whose files are kept for a client that never DELETEs


class ExportManager:
    """Starts, tracks and cleans up export jobs. Clients should DELETE a job once they have
    its files; the oldest finished jobs beyond `KEPT_FINISHED` are removed when a new one
    starts (Bulk Data lets a server expire files), so a server running for months does not
    keep every nightly export."""

    def __init__(self, store: Store, *, per_file: int = 100_000, root: Path | None = None):
        self.store = store
        self.per_file = per_file
        self._root = root
        self.jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()

    def start(
        self, *, request: str, types: list[str], since: str | None, patients: list[str] | None
    ) -> ExportJob:
        jid = uuid.uuid4().hex
        with self._lock:
            finished = [j for j in self.jobs.values() if j.status != "running"]
        for old in finished[: max(0, len(finished) - KEPT_FINISHED + 1)]:  # oldest first
            self.delete(old.id)
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="standby-export-"))
        d = self._root / jid
        d.mkdir(parents=True)
        job = ExportJob(jid, request, types, since, patients, _now_instant(), d)
        with self._lock:
            self.jobs[jid] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"export-{jid}").start()
        return job

    def get(self, jid: str) -> ExportJob | None:
        with self._lock:
            return self.jobs.get(jid)

    def delete(self, jid: str) -> bool:
        with self._lock:
            job = self.jobs.pop(jid, None)
        if job is None:
            return False
        job.cancel.set()
        shutil.rmtree(job.dir, ignore_errors=True)
        return True

    def close(self) -> None:
        for jid in list(self.jobs):
            self.delete(jid)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    # ---- the worker ----------------------------------------------------------------
    def _resources(self, job: ExportJob, rtype: str) -> Iterator[StoredResource]:
        if job.since is not None:
            after = 0
            while True:
                page = self.store.changes_since(job.since, types=[rtype], after_seq=after)
                if not page:
                    return
                for seq, sr in page:
                    after = seq
                    if sr.last_updated <= job.transaction_time:
                        yield sr
        else:
            yield from self.store.iter_type(rtype)

    def _run(self, job: ExportJob) -> None:
        try:
            compartment: set[tuple[str, str]] | None = None
            if job.patients is not None:
                compartment = set()
                for pid in job.patients:
                    for sr in self.store.compartment(pid):
                        compartment.add((sr.resource_type, sr.id))
            for i, rtype in enumerate(job.types):
                job.progress = f"{i}/{len(job.types)} types: {rtype}"
                n_file = 0
                count = 0
                fh = None
                deleted: list[str] = []
                for sr in self._resources(job, rtype):
                    if job.cancel.is_set():
                        return
                    if compartment is not None and (sr.resource_type, sr.id) not in compartment:
                        continue
                    if sr.deleted:
                        deleted.append(f"{sr.resource_type}/{sr.id}")
                        continue
                    if fh is None or count >= self.per_file:
                        if fh is not None:
                            fh.close()
                            self._add(job, rtype, n_file, count)
                        n_file += 1
                        count = 0
                        fh = open(job.dir / f"{rtype}-{n_file}.ndjson", "wb")  # noqa: SIM115
                    fh.write(sr.body.strip().replace(b"\n", b" ") + b"\n")
                    count += 1
                if fh is not None:
                    fh.close()
                    self._add(job, rtype, n_file, count)
                if deleted:
                    self._write_deleted(job, rtype, deleted)
            job.progress = "done"
            job.status = "done"
        except Exception as e:
            job.errors.append(f"{type(e).__name__}: {e}")
            job.status = "failed"

    def _add(self, job: ExportJob, rtype: str, n: int, count: int) -> None:
        job.output.append({"type": rtype, "file": f"{rtype}-{n}.ndjson", "count": count})

    def _write_deleted(self, job: ExportJob, rtype: str, refs: list[str]) -> None:
        import orjson

        name = f"deleted-{rtype}.ndjson"
        with open(job.dir / name, "wb") as fh:
            for ref in refs:
                bundle = {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [{"request": {"method": "DELETE", "url": ref}}],
                }
                fh.write(orjson.dumps(bundle) + b"\n")
        job.deleted.append({"type": "Bundle", "file": name, "count": len(refs)})
