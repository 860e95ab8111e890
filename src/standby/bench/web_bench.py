"""`standby bench web`: how fast the viewer serves the pages that matter at 3 a.m.

Figures, each beside a baseline from the same run (docs/web.md#performance):

* patient summary, server time p50 / p95 (goal p95 < 50 ms): a full request through the
  ASGI app in-process (session, role, access check, read model, audit line, template)
  with the summary cache off, so every view is built from the store, beside the raw
  `store.compartment(patient)` read it needs; and p50 of a repeat view with the cache on;
* census of the unit nearest 40 beds, every row built, server time p50 and p95 (goal
  p95 < 50 ms), beside the same census without the patient digest; the raw reads that
  census needed (one `store.compartment(patient, CENSUS_TYPES)` per patient on the
  unit); and of the largest unit;
* summary pages per second over real HTTP: the viewer (`standby serve`'s app and
  workers, its clock pinned: `pinned_serve`) with `STANDBY_BENCH_WEB_WORKERS` worker
  processes (default 2) and 50 concurrent clients (goal ≥ 200/s on 2 cores; ≥ 400/s
  with every view built): with the summary cache on (the default) for 200 views drawn
  with repeats from all admitted patients (the same patients opened again and again) and
  for every admitted patient in turn; then with the cache off (every view built from the
  store), every patient in turn. Each after a 3-second warm-up that is not counted;
  beside `/healthz` (the same server and load with no page work: the HTTP ceiling of the
  machine). The clients are `wrk` (Debian's `wrk`:
  C, a few percent of one core) when installed, else a Python client in a separate
  process, which itself needs most of a core near 200 requests/s and so understates the
  server: the figure names the client used.

Scale: `--scale 1` generates a hospital of 100 beds (~100,000 resources: the generator
makes ~1,000 per bed); `--scale 10` is the issue's full size (1,000 beds, ~1M resources).
The hospital is generated once per size into `.cache/bench-web-<NOW>/` and reused, and
every page is computed at `NOW`, the instant it was generated at (the in-process app's
clock, and the HTTP server's through `standby.bench.pinned_serve`): a copy generated days
before and read at the wall clock shows fewer doses due and fewer recent results, and was
measured 18–20% faster. Under load only 200s that carry the expected page count
(`http_load`): a lost session's redirects to /login are errors.

The census is also built without the patient digest (`standby.store.digest`: each row's
resources read from the patient's compartment, as before it) in the same run: the
baseline of the census figures.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica
from standby.bench.http_load import CLIENTS, PASSWORD, http_load

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # as `standby bench reports`
CACHE = Path(".cache") / f"bench-web-{NOW:%Y%m%dT%H%M}"
CENSUS_VIEWS = 60  # p95 of 60 views: the 3rd slowest
SUMMARY_MARK = 'id="h-allergies"'  # what only a summary page holds


def _build_store(beds: int, progress: Progress) -> Path:
    """A SQLite replica of a hospital generated at `NOW` (cached per size)."""
    return cached_replica(CACHE, beds, progress, now=NOW)


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
    from standby.accounts import users
    from standby.settings import load_settings
    from standby.store import open_store
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
    settings = load_settings(db=work, summary_cache_seconds=0)  # every view built
    store = open_store(db=work)
    users.add_user(store, "bench", PASSWORD, role="physician", units=["*"])
    counts = store.counts_by_type()
    total = sum(counts.values())
    now = clinical_now(store)

    units = clinical.units(store)
    censuses = [(u, clinical.unit_census(store, u.id, now)) for u in units]
    # the figure is a 40-bed unit: the unit nearest that size (the largest too)
    unit, census = min(censuses, key=lambda uc: (abs(len(uc[1].beds) - 40), -len(uc[1].beds)))
    big_unit, big_census = max(censuses, key=lambda uc: len(uc[1].beds))
    patient_ids = [b.patient.id for u, c in censuses for b in c.beds if b.patient is not None]
    rng = random.Random(3)
    sample = [rng.choice(patient_ids) for _ in range(200)]
    everyone = list(dict.fromkeys(patient_ids))
    rng.shuffle(everyone)

    app = create_app(settings, store, clock=lambda: now)
    server = _ServerTimer(app)
    gc.collect()  # as `standby serve` does once its directory is loaded (web/app.py)
    gc.freeze()

    progress.step("patient summary, in-process")
    summary_ms = server.run([f"/patients/{pid}" for pid in sample], warmup=20)
    it2 = iter(sample)
    raw_ms = _timed_ms(lambda: store.compartment(next(it2)), len(sample))
    cached = _ServerTimer(create_app(load_settings(db=work), store, clock=lambda: now))
    cached.run([f"/patients/{pid}" for pid in sample], warmup=0)  # builds each once
    cached_ms = cached.run([f"/patients/{pid}" for pid in sample], warmup=0)

    progress.step(f"census of unit {unit.id} ({len(census.beds)} beds)")
    census_ms = server.run([f"/units/{unit.id}"] * CENSUS_VIEWS, warmup=5)
    store.keeps_digest = False  # the baseline: every row read from its compartment
    undigested_ms = server.run([f"/units/{unit.id}"] * CENSUS_VIEWS, warmup=5)
    store.keeps_digest = True
    big_census_ms = census_ms
    if big_unit.id != unit.id:
        big_census_ms = server.run([f"/units/{big_unit.id}"] * CENSUS_VIEWS, warmup=5)
    census_ids = [b.patient.id for b in census.beds if b.patient is not None]

    from standby.clinical.summary import CENSUS_TYPES

    def raw_census() -> None:
        for pid in census_ids:
            store.compartment(pid, CENSUS_TYPES)

    raw_census_ms = _timed_ms(raw_census, CENSUS_VIEWS)
    cached.run([f"/units/{unit.id}"], warmup=0)  # builds each row once
    cached_census_ms = cached.run([f"/units/{unit.id}"] * CENSUS_VIEWS, warmup=0)
    store.close()

    progress.step("pages per second over HTTP (uvicorn, separate load process)")
    workers = int(os.environ.get("STANDBY_BENCH_WEB_WORKERS", "2"))
    seconds = float(os.environ.get("STANDBY_BENCH_WEB_SECONDS", str(max(5.0, 10 * min(scale, 2)))))
    http = http_load(work, workers, sample, everyone, seconds, clock=now)
    client = f"{http['client']}, {CLIENTS} clients"

    errors = sum(int(v) for k, v in http.items() if k.endswith("_errors"))
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
            f"census of {len(census.beds)}-bed unit p95, every row built",
            percentile(census_ms, 95),
            "ms",
            "p95 < 50 ms",
            percentile(census_ms, 95) < 50,
            percentile(undigested_ms, 95),
            "without the digest p95",
        ),
        Figure(
            f"census of {len(census.beds)}-bed unit p50, every row built",
            percentile(census_ms, 50),
            "ms",
            "-",
            None,
            percentile(undigested_ms, 50),
            "without the digest p50",
        ),
        Figure(
            f"census of {len(census.beds)}-bed unit: the old reads alone p95",
            percentile(raw_census_ms, 95),
            "ms",
            "-",
            None,
        ),
        Figure(
            f"census of {len(census.beds)}-bed unit p95, cached (a refresh)",
            percentile(cached_census_ms, 95),
            "ms",
            "-",
            None,
            percentile(raw_census_ms, 95),
            "its compartment reads p95",
        ),
        Figure(
            f"census of the largest unit ({len(big_census.beds)} beds) p95",
            percentile(big_census_ms, 95),
            "ms",
            "-",
            None,
        ),
        Figure(
            "patient summary server time p50, cached (a repeat view)",
            percentile(cached_ms, 50),
            "ms",
            "-",
            None,
            percentile(raw_ms, 50),
            "store.compartment p50",
        ),
        Figure(
            f"summary pages/s, cache on, {len(set(sample))} patients opened again and again "
            f"({workers} workers; {client})",
            http["ward"],
            "pages/s",
            "≥ 200/s",
            http["ward"] >= 200,
            http["healthz"],
            "/healthz req/s",
        ),
        Figure(
            f"summary pages/s, cache on, all {len(everyone)} admitted patients in turn",
            http["everyone"],
            "pages/s",
            "-",
            None,
            http["healthz"],
            "/healthz req/s",
        ),
        Figure(
            f"summary pages/s, cache off (every view built), all {len(everyone)} in turn",
            http["uncached"],
            "pages/s",
            "≥ 400/s",
            http["uncached"] >= 400,
            http["healthz"],
            "/healthz req/s",
        ),
        Figure(
            "summary p99 latency under load, cache on (the same patients again)",
            http["ward_p99_ms"],
            "ms",
            "-",
            None,
        ),
        Figure(
            "summary p99 latency under load, cache off", http["uncached_p99_ms"], "ms", "-", None
        ),
        Figure(
            "failed requests under load (not the expected page with a 200, socket errors)",
            float(errors),
            "requests",
            "0",
            errors == 0,
        ),
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
                    if path.startswith("/patients/") and SUMMARY_MARK not in r.text:
                        raise RuntimeError(f"{path}: not a summary page")
                return list(self.times)

        return asyncio.run(go())


def clinical_now(store: Any) -> datetime:
    """The time the generated hospital is set at (its data are relative to it)."""
    return NOW
