"""`standby bench web`: how fast the viewer serves the pages that matter at 3 a.m.

Figures, each beside a baseline from the same run (docs/web.md#performance):

* patient summary, server time p50 / p95 (goal p95 < 50 ms): a full request through the
  ASGI app in-process (session, role, access check, read model, audit line, template),
  beside the raw `store.compartment(patient)` read it needs;
* census of the largest unit, server time p95 (goal < 100 ms, unit of ~40 beds at full
  scale), beside the raw reads it needs (one `store.compartment(patient, CENSUS_TYPES)`
  per patient on the unit);
* summary pages per second over real HTTP: `standby serve`'s app under uvicorn with
  `STANDBY_BENCH_WEB_WORKERS` workers (default 2), 50 concurrent clients from a load
  generator in a *separate process* (goal ≥ 200/s on 2 cores), beside `/healthz` (the
  same server and load with no page work: the HTTP ceiling of the machine).

Scale: `--scale 1` generates a hospital of 100 beds (~100,000 resources: the generator
makes ~1,000 per bed); `--scale 10` is the issue's full size (1,000 beds, ~1M resources).
The hospital is generated once per size into `.cache/bench-web/` and reused.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica

CACHE = Path(".cache") / "bench-web"
PASSWORD = "bench-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build_store(beds: int, progress: Progress) -> Path:
    """A SQLite replica of a generated hospital (cached per size)."""
    return cached_replica(CACHE, beds, progress)


def _timed_ms(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


@benchmark("web")
def bench_web(scale: float, progress: Progress) -> list[Figure]:
    from standby import clinical
    from standby.settings import load_settings
    from standby.store import open_store
    from standby.web import accounts
    from standby.web.app import create_app

    beds = max(20, int(100 * scale))
    db = _build_store(beds, progress)
    work = CACHE / "run.db"
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(db) + suffix)
        dst = Path(str(work) + suffix)
        if dst.exists():
            dst.unlink()
        if src.exists():
            shutil.copy(src, dst)
    settings = load_settings(db=work)
    store = open_store(db=work)
    accounts.add_user(store, "bench", PASSWORD, role="physician", units=["*"])
    counts = store.counts_by_type()
    total = sum(counts.values())
    now = clinical_now(store)

    units = clinical.units(store)
    censuses = [(u, clinical.unit_census(store, u.id, now)) for u in units]
    unit, census = max(censuses, key=lambda uc: len(uc[1].beds))
    patient_ids = [b.patient.id for u, c in censuses for b in c.beds if b.patient is not None]
    rng = random.Random(3)
    sample = [rng.choice(patient_ids) for _ in range(200)]

    app = create_app(settings, store)
    server = _ServerTimer(app)

    progress.step("patient summary, in-process")
    summary_ms = server.run([f"/patients/{pid}" for pid in sample], warmup=20)
    it2 = iter(sample)
    raw_ms = _timed_ms(lambda: store.compartment(next(it2)), len(sample))

    progress.step(f"census of unit {unit.id} ({len(census.beds)} beds)")
    census_ms = server.run([f"/units/{unit.id}"] * 30, warmup=3)
    census_ids = [b.patient.id for b in census.beds if b.patient is not None]

    from standby.clinical.census import CENSUS_TYPES

    def raw_census() -> None:
        for pid in census_ids:
            store.compartment(pid, CENSUS_TYPES)

    raw_census_ms = _timed_ms(raw_census, 30)
    store.close()

    progress.step("pages per second over HTTP (uvicorn, separate load process)")
    workers = int(os.environ.get("STANDBY_BENCH_WEB_WORKERS", "2"))
    seconds = float(os.environ.get("STANDBY_BENCH_WEB_SECONDS", str(max(5.0, 10 * min(scale, 2)))))
    http = _http_load(work, workers, sample, seconds)

    return [
        Figure("resources in the store", float(total), "resources", "≥ 1M at full scale", None),
        Figure(
            "patient summary server time p50",
            percentile(summary_ms, 50),
            "ms",
            "-",
            None,
            percentile(raw_ms, 50),
            "store.compartment p50",
        ),
        Figure(
            "patient summary server time p95",
            percentile(summary_ms, 95),
            "ms",
            "p95 < 50 ms",
            percentile(summary_ms, 95) < 50,
            percentile(raw_ms, 95),
            "store.compartment p95",
        ),
        Figure(
            f"census of {len(census.beds)}-bed unit p95",
            percentile(census_ms, 95),
            "ms",
            "p95 < 100 ms",
            percentile(census_ms, 95) < 100,
            percentile(raw_census_ms, 95),
            "its compartment reads p95",
        ),
        Figure(
            f"summary pages/s ({workers} workers, 50 clients)",
            http["summary"],
            "pages/s",
            "≥ 200/s",
            http["summary"] >= 200,
            http["healthz"],
            "/healthz req/s",
        ),
        Figure("summary p95 latency under load", http["summary_p95_ms"], "ms", "-", None),
    ]


class _ServerTimer:
    """Drives the ASGI app in-process (httpx's ASGITransport, one event loop) and records
    each request's *server* time: from the app being called to the last body byte sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def _timed(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.append((time.perf_counter() - start) * 1000)
            await send(message)

        await self.app(scope, receive, timed_send)

    def run(self, paths: list[str], warmup: int = 0) -> list[float]:
        import httpx

        async def go() -> list[float]:
            transport = httpx.ASGITransport(app=self._timed)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                page = await c.get("/login")
                token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                await c.post(
                    "/login",
                    data={"username": "bench", "password": PASSWORD, "csrf_token": token},
                )
                for path in paths[:warmup]:
                    await c.get(path)
                self.times.clear()
                for path in paths:
                    r = await c.get(path)
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {r.status_code}")
                return list(self.times)

        return asyncio.run(go())


def clinical_now(store: Any) -> Any:
    """The time the generated hospital is set at (its data are relative to it)."""
    from standby.web.times import utcnow

    return utcnow()


def _http_load(db: Path, workers: int, sample: list[str], seconds: float) -> dict[str, float]:
    port = _free_port()
    env = {
        **os.environ,
        "STANDBY_DB": str(db),
        "STANDBY_PORT": str(port),
        "STANDBY_HOST": "127.0.0.1",
        "STANDBY_WEB_WORKERS": str(workers),
        "STANDBY_SOURCE_URL": "",
    }
    env.pop("STANDBY_SOURCE_URL")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from standby.cli.main import main; main()",
            "serve",
            "--no-monitor",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server)
        result: dict[str, float] = {}
        for name, paths in (
            ("healthz", ["/healthz"]),
            ("summary", [f"/patients/{p}" for p in sample]),
        ):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from standby.bench.web_bench import load_main; load_main()",
                    base,
                    json.dumps(paths),
                    str(seconds),
                    "50",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            result[name] = figures["ok"] / figures["seconds"]
            if name == "summary":
                result["summary_p95_ms"] = figures["p95_ms"]
                if figures["errors"]:
                    result["summary_errors"] = figures["errors"]
        return result
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise RuntimeError(f"standby serve exited: {err[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("standby serve did not start")


def load_main() -> None:
    """The load generator (a separate process): log in, then `concurrency` clients request
    the paths round-robin for `seconds`; prints one JSON line of figures."""
    base, paths_json, seconds_s, conc_s = sys.argv[1:5]
    paths = json.loads(paths_json)
    seconds, concurrency = float(seconds_s), int(conc_s)
    print(json.dumps(asyncio.run(_load(base, paths, seconds, concurrency))))


async def _load(base: str, paths: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        await client.post(
            "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
        )
        ok = errors = 0
        latencies: list[float] = []
        deadline = time.monotonic() + seconds
        start = time.monotonic()

        async def worker(i: int) -> None:
            nonlocal ok, errors
            n = i
            while time.monotonic() < deadline:
                t = time.perf_counter()
                try:
                    r = await client.get(paths[n % len(paths)])
                    if r.status_code == 200:
                        ok += 1
                        latencies.append((time.perf_counter() - t) * 1000)
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                n += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - start
    return {
        "ok": ok,
        "errors": errors,
        "seconds": elapsed,
        "p95_ms": percentile(latencies, 95) if latencies else 0.0,
    }
