"""`standby bench sync` — the sync's figures (issue 3, "Figures").

Seed: the synthetic hospital (`standby.sim.generate`, ~1,000 resources per bed) is served
as a Bulk Data export (kick-off, status, manifest, NDJSON files streamed from disk) by a
small server on 127.0.0.1, and `standby.sync.bulk_export.BulkSeed` seeds an empty SQLite
replica from it over HTTP: resources/s end to end, beside the store's own raw ingest
(`Store.ingest_ndjson` of the same files into another empty replica) in the same run;
peak RSS of the process (server included) during the seed. `--scale 1` is 20 beds
(~20,000 resources); `--scale 50` is 1,000 beds (~1M resources), the issue's full size.

Freshness against the simulated EHR's change feed (50 changes/s, with and without faults)
is measured once `standby.sim.server` is available; until then it is reported as missing.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
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

from standby.bench.harness import Figure, PeakRSS, Progress, benchmark
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
    beds = max(20, round(BEDS_AT_SCALE_1 * scale))
    with tempfile.TemporaryDirectory(prefix="standby-sync-bench-") as tmp:
        work = Path(tmp)
        progress.step(f"generating {beds} beds")
        counts = generate_hospital(beds, 1, work / "ndjson", now=NOW)
        total = sum(counts.values())
        progress.step(f"store ingest of {total} resources")
        n_floor, t_floor = _store_ingest(work / "ndjson", work / "floor.db")
        progress.step("seed by bulk export over HTTP")
        with serve(lambda base: export_app(work / "ndjson", base)) as url:
            n_seed, t_seed, peak = _seed(url, work / "seed.db")
    floor_rate = n_floor / t_floor
    seed_rate = n_seed / t_seed
    return [
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
    ]
