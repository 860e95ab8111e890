"""`standby bench sync` — the sync's figures.

Seed: the synthetic hospital (`standby.sim.generate`, ~1,000 resources per bed) is served
as a Bulk Data export (kick-off, status, manifest, NDJSON files streamed from disk) by a
small server on 127.0.0.1, and `standby.sync.bulk_export.BulkSeed` seeds an empty SQLite
replica from it over HTTP: resources/s end to end, beside the store's own raw ingest
(`Store.ingest_ndjson` of the same files into another empty replica) in the same run;
peak RSS of the process (server included) during the seed. `--scale 1` is 20 beds
(~20,000 resources); `--scale 50` is 1,000 beds (~1M resources), the issue's full size.

Freshness: the simulated EHR's change feed (`standby.sim.changes.ChangeFeed`) writes 50
changes/s into a source store served by a small FHIR search endpoint (with and without 20%
503/429 answers and 200 ms added latency); `standby sync`'s rounds (every 5 s, census mode)
keep a replica; a watcher notes when each change's version is in the replica: p50/p95/max
over a window of 60 s × scale (capped at 10 min), and the changes never seen after the
feed stops and three more rounds run.

Strict modes (sync_strict_bench.py): the same against the simulated EHR itself in its
default and strict modes (no export; no type-wide search; no `_history`), seeded with the
default settings: seed time and freshness p95 for each.

Deletes (sync_delete_bench.py): a delete at the simulated EHR to its tombstone in the
replica, with `_history` and by reconciliation.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from standby.bench.harness import Figure, PeakRSS, Progress, benchmark, percentile
from standby.bench.sync_strict_bench import strict_figures
from standby.sim.generate import generate_hospital
from standby.store.sqlite import SQLiteStore
from standby.sync.bulk_export import BulkSeed, ExportConfig
from standby.sync.http import FhirClient
from standby.sync.replica_writer import ReplicaWriter

BEDS_AT_SCALE_1 = 20
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


def export_app(data: Path, base: list[str]) -> Starlette:
    """A Bulk Data export of the NDJSON files in `data` (one job, ready at once)."""

    async def kickoff(request: Request) -> Response:
        return Response(status_code=202, headers={"Content-Location": f"{base[0]}/job"})

    async def status(request: Request) -> Response:
        if request.method == "DELETE":
            return Response(status_code=202)
        return JSONResponse(
            {
                "transactionTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "request": f"{base[0]}/$export",
                "requiresAccessToken": False,
                "output": [
                    {"type": p.stem, "url": f"{base[0]}/files/{p.name}"}
                    for p in sorted(data.glob("*.ndjson"))
                ],
                "error": [],
            }
        )

    async def file(request: Request) -> Response:
        return FileResponse(
            data / request.path_params["name"], media_type="application/fhir+ndjson"
        )

    return Starlette(
        routes=[
            Route("/fhir/$export", kickoff),
            Route("/fhir/job", status, methods=["GET", "DELETE"]),
            Route("/fhir/files/{name}", file),
        ]
    )


@contextmanager
def serve(app_for: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = [f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"]
    server = uvicorn.Server(uvicorn.Config(app_for(base), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield base[0]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _store_ingest(data: Path, db: Path) -> tuple[int, float]:
    store = SQLiteStore(db)
    n = 0
    t0 = time.perf_counter()
    for path in sorted(data.glob("*.ndjson")):
        with path.open("rb") as fh:
            n += store.ingest_ndjson(fh, file=path.name).written
    seconds = time.perf_counter() - t0
    store.close()
    return n, seconds


def _seed(base: str, db: Path) -> tuple[int, float, float]:
    store = SQLiteStore(db)
    client = FhirClient(base, rate=0, concurrency=2)
    writer = ReplicaWriter(store, "bench", max_bytes=16 * 1024 * 1024)
    seed = BulkSeed(client, store, writer, "bench", ExportConfig(batch_size=2000))
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        result = seed.run()
        seconds = time.perf_counter() - t0
    client.close()
    store.close()
    return result.stats.written, seconds, rss.peak_mb


@benchmark("sync")
def sync_bench(scale: float, progress: Progress) -> list[Figure]:
    from standby.bench.sync_delete_bench import delete_figures  # it serves with `serve`

    beds = max(20, round(BEDS_AT_SCALE_1 * scale))
    with tempfile.TemporaryDirectory(prefix="standby-sync-bench-") as tmp:
        work = Path(tmp)
        progress.step(f"generating {beds} beds")
        counts = generate_hospital(beds, 1, work / "ndjson", now=NOW)
        total = sum(counts.values())
        progress.step(f"store ingest of {total} resources")
        n_floor, t_floor = _store_ingest(work / "ndjson", work / "floor.db")
        progress.step("seed by bulk export over HTTP")
        for f in work.glob("floor.db*"):  # a 5M-resource replica is ~8 GB: one at a time
            f.unlink()
        with serve(lambda base: export_app(work / "ndjson", base)) as url:
            n_seed, t_seed, peak = _seed(url, work / "seed.db")
        for f in work.glob("seed.db*"):
            f.unlink()
        seed_only = os.environ.get("STANDBY_BENCH_SYNC_SEED_ONLY", "") not in ("", "0")
        window = max(10.0, 60.0 * min(scale, 10.0))
        strict = [] if seed_only else strict_figures(work / "ndjson", work, window, progress)
        fresh: list[tuple[str, list[float], int, int]] = []
        for label, faults, latency in (("", 0.0, 0.0), (" (20% 503/429, +200 ms)", 0.2, 0.2)):
            if seed_only:
                break
            progress.step(f"freshness{label}: {window:.0f} s at 50 changes/s")
            lat, never, outside = _freshness(work / "ndjson", work, window, 50, faults, latency)
            fresh.append((label, lat, never, outside))
        deletes = [] if seed_only else delete_figures(work / "ndjson", work, progress)
        pages = [] if seed_only else [page_memory_figure(progress)]
    floor_rate = n_floor / t_floor
    seed_rate = n_seed / t_seed
    figures: list[Figure] = []
    for label, lat, never, outside in fresh:
        if not lat:
            continue
        p95 = percentile(lat, 95)
        figures += [
            Figure(f"freshness p50{label}", round(percentile(lat, 50), 2), "s", "", None),
            Figure(f"freshness p95{label}", round(p95, 2), "s", "< 30 s", p95 < 30),
            Figure(f"freshness max{label} ({len(lat)} changes)", round(max(lat), 2), "s", "", None),
            Figure(
                f"changes never in the replica{label} (census patients and shared types)",
                never,
                "changes",
                "0",
                never == 0,
            ),
            Figure(
                f"changes to patients outside the census{label} (not kept fresh, by design)",
                outside,
                "changes",
                "",
                None,
            ),
        ]
    return [
        *figures,
        *deletes,
        *pages,
        Figure(
            f"seed by bulk export ({n_seed} resources, {beds} beds)",
            round(seed_rate),
            "resources/s",
            ">= 50% of the store's ingest",
            seed_rate >= 0.5 * floor_rate,
            baseline=round(floor_rate),
            baseline_name="Store.ingest_ndjson, same files",
        ),
        Figure(
            "peak RSS during the seed (server included)",
            round(peak, 1),
            "MB",
            "< 300 MB",
            peak < 300,
        ),
        *strict,
    ]


# ---- freshness ---------------------------------------------------------------------------
def live_app(source: Any, base: list[str], faults: float, latency: float, rng: Any) -> Any:
    """A FHIR search endpoint over `source` (a Store written by the change feed), with an
    optional share of 503/429 answers and added latency: the stand-in for the simulated
    EHR until standby.sim.server lands."""
    import asyncio

    import orjson

    def body_of(sr: Any) -> dict[str, Any]:
        r: dict[str, Any] = orjson.loads(sr.body)
        r["meta"] = {
            **(r.get("meta") or {}),
            "versionId": sr.version_id,
            "lastUpdated": sr.last_updated,
        }
        return r

    async def search(request: Request) -> Response:
        if latency:
            await asyncio.sleep(latency)
        if faults and rng.random() < faults:
            code = rng.choice([503, 429])
            return Response(status_code=code, headers={"Retry-After": "1"})
        rtype = request.path_params["rtype"]
        if not rtype[:1].isupper():  # `_history` and other interactions: not offered here
            return Response(status_code=404)
        params = [(k, v) for k, v in request.query_params.multi_items()]
        count = int(dict(params).get("_count", "50"))
        offset = int(dict(params).get("_offset", "0"))
        filters = [(k, v) for k, v in params if k not in ("_count", "_offset", "_elements")]
        page = source.search(rtype, filters, count=count, offset=offset)
        body: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": body_of(r)} for r in page.resources],
        }
        if len(page.resources) == count:
            from urllib.parse import urlencode

            q = urlencode([*filters, ("_count", str(count)), ("_offset", str(offset + count))])
            body["link"] = [{"relation": "next", "url": f"{base[0]}/{rtype}?{q}"}]
        return Response(orjson.dumps(body), media_type="application/fhir+json")

    return Starlette(routes=[Route("/fhir/{rtype}", search)])


def _freshness(
    data: Path, work: Path, seconds: float, rate: int, faults: float, latency: float
) -> tuple[list[float], int, int]:
    """Latencies (s) from a change at the source to its presence in the replica; changes
    never seen; census resources that differ at the end."""
    import random

    from standby.settings import load_settings
    from standby.sim.changes import ChangeFeed
    from standby.store.ingest import ingest_directory
    from standby.sync.runner import SyncRunner

    src = SQLiteStore(work / f"source-{faults}.db")
    ingest_directory(src, data)
    rep_path = work / f"replica-{faults}.db"
    rep = SQLiteStore(rep_path)
    ingest_directory(rep, data)
    feed = ChangeFeed(src, seed=7)
    rng = random.Random(3)
    pending: dict[tuple[str, str], tuple[int, float]] = {}
    lat: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    caught_up = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            for r in feed.step(max(1, rate // 10), datetime.now(UTC)):
                sr = src.update(r)
                with lock:
                    pending.setdefault((sr.resource_type, sr.id), (int(sr.version_id), t0))
            stop.wait(max(0.0, 0.1 - (time.monotonic() - t0)))

    def watch() -> None:
        while not stop.is_set() or pending:
            with lock:
                items = list(pending.items())
            now = time.monotonic()
            for (rt, rid), (v, t) in items:
                held = rep.read(rt, rid)
                if held is not None and held.version_id.isdigit() and int(held.version_id) >= v:
                    with lock:
                        pending.pop((rt, rid), None)
                    lat.append(now - t)
            if caught_up.is_set():
                break
            time.sleep(0.25)

    with serve(lambda base: live_app(src, base, faults, latency, rng)) as url:
        settings = load_settings(
            source_url=url, db=rep_path, sync_seed_mode="none", sync_interval_seconds=5.0
        )
        runner = SyncRunner(settings, rep)
        runner.run_round()  # first round: full pulls of the census
        threads = [threading.Thread(target=churn), threading.Thread(target=watch)]
        for t in threads:
            t.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.monotonic()
            runner.run_round()
            time.sleep(max(0.0, 5.0 - (time.monotonic() - t0)))
        stop.set()
        threads[0].join()
        for _ in range(3):  # let the sync catch up after the feed stops
            runner.run_round()
        time.sleep(0.5)
        caught_up.set()
        threads[1].join()
        runner.close()
    kept = synced_patients(rep)
    shared = set(runner.cfg.shared_types)
    outside = {
        key for key in pending if key[0] not in shared and not patients_of(src.read(*key)) & kept
    }
    never = len(pending) - len(outside)
    kinds = Counter(rt for key in pending if key not in outside for rt in key[:1])
    if kinds:
        print("never in the replica (census patients), by type:", dict(kinds))
    src.close()
    rep.close()
    return lat, never, len(outside)


def synced_patients(rep: Any) -> set[str]:
    """The patients the census sync keeps fresh: on the census (or kept), fully pulled."""
    with rep.read_transaction() as tx:
        rows = tx.query("SELECT patient_id FROM sync_census WHERE pulled = 1")
    return {str(r[0]) for r in rows}


def patients_of(sr: Any) -> set[str]:
    """The Patient ids a resource is about (itself, subject, patient, participants)."""
    if sr is None:
        return set()
    import orjson

    body = orjson.loads(sr.body)
    if body.get("resourceType") == "Patient":
        return {str(body.get("id"))}
    refs = [body.get("subject"), body.get("patient")]
    refs += [(p or {}).get("actor") for p in body.get("participant") or []]
    out = set()
    for ref in refs:
        text = (ref or {}).get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and text.startswith("Patient/"):
            out.add(text.split("/", 1)[1])
    return out


def page_memory_figure(progress: Progress) -> Figure:
    """Peak RSS of a sync process reading one 80 MB search page."""
    from standby.bench.sync_page_rss import measure

    progress.step("peak RSS reading one 80 MB search page")
    got = measure(80)
    return Figure(
        f"peak RSS of the sync reading one {got['page_mb']:g} MB search page",
        got["peak_mb"],
        "MB",
        "< 300 MB",
        got["peak_mb"] < 300 and got["written"] == got["sent"],
    )
