"""Bulk Data export jobs: what is exported, written to NDJSON files as it is read
(https://hl7.org/fhir/uv/bulkdata/export.html).

A job is a row of `fhir_api_exports` (so that every worker process of `standby serve`
answers its status, whichever started it) and a directory of files under the API's
export directory. The worker that took the kick-off runs it in a thread: resources are
streamed from the store (`Store.iter_type`, `Store.changes_since`, `Store.compartment`)
and each line is written to its type's file at once, so memory holds one batch of
resources, never the export. The thread refreshes the row's `updated` as it goes and
stops when the row says `cancelled` (a DELETE from any worker); a job whose row has not
been refreshed for `STALE_SECONDS` died with its process and answers as failed.

What each level holds (docs/fhir-api.md#bulk-data-export):

* system — every resource of the requested (or every held) type; with `_since`, those
  changed after it, and the deleted ones in `deleted` files;
* Patient — every patient's compartment, plus the resources they reference that are in
  no patient's compartment (Medication, Practitioner, Location, Organization);
* Group — the same for the group's patients: a Group resource held in the replica
  (`member.entity`), or `unit-<alias or Location id>` for the patients the replica places
  on that unit now.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from standby.api import schema
from standby.clock import parse_instant
from standby.fhir.search_params import extract, patient_compartment
from standby.store.base import Store, StoredResource

log = logging.getLogger(__name__)

STALE_SECONDS = 600
KEEP_SECONDS = 24 * 3600  # a finished export's files are kept this long (then removed)
PER_FILE = 500_000  # resources per file: large enough to keep few files, small to resume
HEARTBEAT = 2000  # resources between refreshes of the row (and checks for a cancel)
MAX_RUNNING_PER_CLIENT = 2  # exports one client may have running at once
MAX_RUNNING = 4  # exports the node runs at once (each a thread reading the whole store)


class TooManyExports(Exception):
    """A kick-off past `MAX_RUNNING_PER_CLIENT` or `MAX_RUNNING` (the API answers 429)."""


@dataclass
class ExportRequest:
    client_id: str
    request: str  # the kick-off URL, as the manifest repeats it
    types: list[str]  # the types to write, the grant already applied
    since: str | None
    patients: list[str] | None  # None: system level
    transaction_time: str


PATIENTS_SUFFIX = ".patients"  # beside each file: the patients in it (never downloadable)


@dataclass
class _Files:
    """The open file of each type, a new one every `PER_FILE` lines; and the patients whose
    data each file holds, written beside it (`<file>.patients`, a JSON list) for the audit
    lines of its downloads."""

    dir: Path
    out: list[dict[str, Any]] = field(default_factory=list)
    open: dict[str, tuple[IO[bytes], dict[str, Any]]] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    patients: dict[str, set[str]] = field(default_factory=dict)

    def write(self, rtype: str, line: bytes, patient: str | None = None) -> None:
        cur = self.open.get(rtype)
        if cur is None or cur[1]["count"] >= PER_FILE:
            if cur is not None:
                self._close(cur)
            self.n[rtype] = self.n.get(rtype, 0) + 1
            name = f"{rtype}-{self.n[rtype]}.ndjson"
            item: dict[str, Any] = {"type": rtype, "file": name, "count": 0}
            self.out.append(item)
            cur = (open(self.dir / name, "wb"), item)  # noqa: SIM115
            self.open[rtype] = cur
            self.patients[name] = set()
        cur[0].write(line)
        cur[1]["count"] += 1
        if patient is not None:
            self.patients[cur[1]["file"]].add(patient)

    def _close(self, cur: tuple[IO[bytes], dict[str, Any]]) -> None:
        cur[0].close()
        name = cur[1]["file"]
        (self.dir / (name + PATIENTS_SUFFIX)).write_bytes(
            orjson.dumps(sorted(self.patients.pop(name, ())))
        )

    def close(self) -> None:
        for cur in self.open.values():
            self._close(cur)
        self.open.clear()


def file_patients(root: Path, job_id: str, name: str) -> list[str]:
    """The patients whose data an export file holds (empty: no one's). Without a readable
    list beside it (an export written before the lists were, or a list damaged), read
    from the file itself: its download is never audited as no one's for want of one."""
    p = root / job_id / (name + PATIENTS_SUFFIX)
    try:
        got = orjson.loads(p.read_bytes())
        if isinstance(got, list):
            return [str(x) for x in got]
    except (OSError, orjson.JSONDecodeError):
        pass
    found: set[str] = set()
    with open(root / job_id / name, "rb") as fh:
        for line in fh:
            try:
                res = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(res, dict) and (pid := patient_compartment(res)) is not None:
                found.add(pid)
    return sorted(found)


class Cancelled(Exception):
    pass


def line_of(body: bytes) -> bytes:
    """One NDJSON line: the stored JSON as the EHR sent it, on one line."""
    body = body.strip()
    if b"\n" in body or b"\r" in body:
        body = orjson.dumps(orjson.loads(body))
    return body + b"\n"


def start(store: Store, root: Path, req: ExportRequest, job_id: str) -> None:
    """Record the job and run it in a thread (returns at once)."""
    schema.ensure(store)
    now = time.time()
    _sweep(store, root, now)
    with store.transaction() as tx:
        # the exports still running (a heartbeat within STALE_SECONDS), counted and the new
        # one recorded in one transaction
        running = tx.query(
            "SELECT client_id FROM fhir_api_exports WHERE status = 'running' AND updated >= ?",
            (now - STALE_SECONDS,),
        )
        mine = sum(1 for (cid,) in running if cid == req.client_id)
        if mine >= MAX_RUNNING_PER_CLIENT:
            raise TooManyExports(
                f"this client has {mine} exports running at once (at most"
                f" {MAX_RUNNING_PER_CLIENT}): wait for one, or DELETE one you no longer need"
            )
        if len(running) >= MAX_RUNNING:
            raise TooManyExports(
                f"this node runs {len(running)} exports at once (at most {MAX_RUNNING}):"
                " try again later"
            )
        tx.execute(
            "INSERT INTO fhir_api_exports (id, client_id, request, created, updated,"
            " transaction_time, status, progress) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
            (job_id, req.client_id, req.request, now, now, req.transaction_time, "queued"),
        )
    d = root / job_id
    d.mkdir(parents=True, exist_ok=True)
    threading.Thread(
        target=_run_logged,
        args=(store, d, req, job_id),
        daemon=True,
        name=f"export-{job_id[:8]}",
    ).start()


def _run_logged(store: Store, d: Path, req: ExportRequest, job_id: str) -> None:
    """`run`, in the job's thread: a failure `run` cannot even record (the store closed
    under it: the node stopping) is logged, never left to die with the thread unseen. Its
    status then answers failed once its heartbeat is old (`STALE_SECONDS`)."""
    try:
        run(store, d, req, job_id)
    except Exception:
        log.exception("export %s ended without recording its end", job_id)


@dataclass
class Job:
    id: str
    client_id: str
    status: str  # running | done | failed | cancelled
    progress: str
    manifest: dict[str, Any] | None
    error: str | None


def get(store: Store, job_id: str) -> Job | None:
    schema.ensure(store)
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT client_id, status, progress, manifest, error, updated"
            " FROM fhir_api_exports WHERE id = ?",
            (job_id,),
        )
    if not rows:
        return None
    cid, status, progress, manifest, error, updated = rows[0]
    if status == "running" and float(updated) < time.time() - STALE_SECONDS:
        status, error = "failed", "the export stopped: the process running it has ended"
    return Job(
        job_id, str(cid), str(status), str(progress),
        orjson.loads(manifest) if manifest else None, error,
    )  # fmt: skip


def cancel(store: Store, root: Path, job_id: str) -> None:
    """Cancel (a running job stops at its next heartbeat) and remove the files."""
    with store.transaction() as tx:
        tx.execute("DELETE FROM fhir_api_exports WHERE id = ?", (job_id,))
    shutil.rmtree(root / job_id, ignore_errors=True)


def file_path(root: Path, job_id: str, name: str) -> Path | None:
    if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".ndjson"):
        return None
    p = root / job_id / name
    return p if p.is_file() else None


def _sweep(store: Store, root: Path, now: float) -> None:
    """Forget exports older than `KEEP_SECONDS` (their rows and their files)."""
    with store.transaction() as tx:
        old = tx.query("SELECT id FROM fhir_api_exports WHERE created < ?", (now - KEEP_SECONDS,))
        tx.execute("DELETE FROM fhir_api_exports WHERE created < ?", (now - KEEP_SECONDS,))
    for (jid,) in old:
        shutil.rmtree(root / str(jid), ignore_errors=True)


# ---- the worker -------------------------------------------------------------------------
class _Beat:
    def __init__(self, store: Store, job_id: str) -> None:
        self.store, self.job_id, self.n = store, job_id, 0

    def __call__(self, progress: str, force: bool = False) -> None:
        self.n += 1
        if not force and self.n % HEARTBEAT:
            return
        with self.store.transaction() as tx:
            alive = tx.execute(
                "UPDATE fhir_api_exports SET updated = ?, progress = ? WHERE id = ?"
                " AND status = 'running'",
                (time.time(), progress, self.job_id),
            )
        if not alive:
            raise Cancelled


def run(store: Store, d: Path, req: ExportRequest, job_id: str) -> None:
    files = _Files(d)
    deleted = _Files(d)
    beat = _Beat(store, job_id)
    try:
        if req.patients is None:
            _system(store, req, files, deleted, beat)
        else:
            _patients(store, req, files, beat)
        files.close()
        deleted.close()
        manifest = {
            "transactionTime": req.transaction_time,
            "request": req.request,
            "requiresAccessToken": True,
            "output": files.out,
            "deleted": deleted.out,
            "error": [],
        }
        _finish(store, job_id, "done", "done", orjson.dumps(manifest).decode(), None)
    except Cancelled:
        files.close()
        deleted.close()
        shutil.rmtree(d, ignore_errors=True)
    except Exception as e:  # recorded for the status request: a 500 with the reason
        files.close()
        deleted.close()
        _finish(store, job_id, "failed", "failed", None, f"{type(e).__name__}: {e}")


def _finish(
    store: Store, job_id: str, status: str, progress: str, manifest: str | None, err: str | None
) -> None:
    with store.transaction() as tx:
        tx.execute(
            "UPDATE fhir_api_exports SET status = ?, progress = ?, manifest = ?, error = ?,"
            " updated = ? WHERE id = ? AND status = 'running'",
            (status, progress, manifest, err, time.time(), job_id),
        )


def _changed(store: Store, since: str, rtype: str) -> Iterator[StoredResource]:
    after = 0
    while True:
        page = store.changes_since(since, types=[rtype], after_seq=after, limit=1000)
        if not page:
            return
        for seq, sr in page:
            after = seq
            yield sr


def _system(store: Store, req: ExportRequest, files: _Files, deleted: _Files, beat: _Beat) -> None:
    for i, rtype in enumerate(req.types):
        progress = f"{i}/{len(req.types)} types done; now {rtype}"
        beat(progress, force=True)
        it = _changed(store, req.since, rtype) if req.since else store.iter_type(rtype)
        for sr in it:
            beat(progress)
            if sr.deleted:
                bundle = {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [{"request": {"method": "DELETE", "url": sr.reference}}],
                }
                deleted.write("Bundle", orjson.dumps(bundle) + b"\n")
            else:
                files.write(rtype, line_of(sr.body), patient_compartment(sr.json()))


def _patients(store: Store, req: ExportRequest, files: _Files, beat: _Beat) -> None:
    """Each patient's compartment, then what it points at outside any compartment (kept
    as a set of "Type/id": far fewer than the resources, a hospital's staff and drugs)."""
    wanted = set(req.types)
    t = parse_instant(req.since) if req.since else None
    outside: set[tuple[str, str]] = set()
    patients = req.patients or []
    for i, pid in enumerate(patients):
        progress = f"{i}/{len(patients)} patients done"
        beat(progress, force=i % 100 == 0)
        compartment = store.compartment(pid)
        inside = {(sr.resource_type, sr.id) for sr in compartment}
        for sr in compartment:
            beat(progress)
            for _param, rtype, rid in extract(sr.json()).reference:
                if rtype and rtype in wanted and (rtype, rid) not in inside:
                    outside.add((rtype, rid))
            if sr.resource_type not in wanted:
                continue
            if sr.resource_type == "Patient" and sr.id != pid:
                continue  # a linked Patient belongs to its own compartment
            if t is not None and (parse_instant(sr.last_updated) or t) <= t:
                continue
            files.write(sr.resource_type, line_of(sr.body), pid)
    for rtype, rid in sorted(outside):
        beat("resources referenced")
        ref = store.read(rtype, rid)
        if ref is None or ref.deleted or patient_compartment(ref.json()) is not None:
            continue  # another patient's data never rides along
        if t is not None and (parse_instant(ref.last_updated) or t) <= t:
            continue
        files.write(rtype, line_of(ref.body))
