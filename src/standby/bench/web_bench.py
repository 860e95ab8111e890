"""`standby bench web`: how fast the viewer serves the pages that matter at 3 a.m.

Figures, each beside a baseline from the same run (docs/web.md#performance):

* patient summary, server time p50 / p95 (goal p95 < 50 ms): a full request through the
  ASGI app in-process (session, role, access check, read model, audit line, template)
  with the summary cache off, so every view is built from the store, beside the raw
  `store.compartment(patient)` read it needs; and p50 of a repeat view with the cache on;
* census of the unit nearest 40 beds, server time p95 (goal < 100 ms), beside the raw
  reads it needs (one `store.compartment(patient, CENSUS_TYPES)` per patient on the
  unit); and of the largest unit;
* summary pages per second over real HTTP: `standby serve` with
  `STANDBY_BENCH_WEB_WORKERS` worker processes (default 2) and 50 concurrent clients
  (goal ≥ 200/s on 2 cores): with the summary cache on (the default) for 200 views drawn
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
The hospital is generated once per size into `.cache/bench-web/` and reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica

CACHE = Path(".cache") / "bench-web"
PASSWORD = "bench-password-1"
CLIENTS = 50
CENSUS_VIEWS = 60  # p95 of 60 views: the 3rd slowest


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
    settings = load_settings(db=work, summary_cache_seconds=0)  # every view built
    store = open_store(db=work)
    accounts.add_user(store, "bench", PASSWORD, role="physician", units=["*"])
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

    app = create_app(settings, store)
    server = _ServerTimer(app)
    gc.collect()  # as `standby serve` does once its directory is loaded (web/app.py)
    gc.freeze()

    progress.step("patient summary, in-process")
    summary_ms = server.run([f"/patients/{pid}" for pid in sample], warmup=20)
    it2 = iter(sample)
    raw_ms = _timed_ms(lambda: store.compartment(next(it2)), len(sample))
    cached = _ServerTimer(create_app(load_settings(db=work), store))
    cached.run([f"/patients/{pid}" for pid in sample], warmup=0)  # builds each once
    cached_ms = cached.run([f"/patients/{pid}" for pid in sample], warmup=0)

    progress.step(f"census of unit {unit.id} ({len(census.beds)} beds)")
    census_ms = server.run([f"/units/{unit.id}"] * CENSUS_VIEWS, warmup=5)
    big_census_ms = census_ms
    if big_unit.id != unit.id:
        big_census_ms = server.run([f"/units/{big_unit.id}"] * CENSUS_VIEWS, warmup=5)
    census_ids = [b.patient.id for b in census.beds if b.patient is not None]

    from standby.clinical.census import CENSUS_TYPES

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
    http = _http_load(work, workers, sample, everyone, seconds)
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
            f"census of {len(census.beds)}-bed unit p95",
            percentile(census_ms, 95),
            "ms",
            "p95 < 100 ms",
            percentile(census_ms, 95) < 100,
            percentile(raw_census_ms, 95),
            "its compartment reads p95",
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
            "≥ 200/s",
            http["uncached"] >= 200,
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
            "failed requests under load (non-2xx, socket errors)",
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
                return list(self.times)

        return asyncio.run(go())


def clinical_now(store: Any) -> Any:
    """The time the generated hospital is set at (its data are relative to it)."""
    from standby.web.times import utcnow

    return utcnow()


def _http_load(
    db: Path, workers: int, ward: list[str], everyone: list[str], seconds: float
) -> dict[str, Any]:
    """Pages per second over real HTTP: /healthz (the ceiling); summaries with the cache
    on (the default) for `ward` (a sample drawn with repeats: the same patients opened
    again and again) and for `everyone` in turn; and with the cache off."""
    result: dict[str, Any] = {"client": "wrk" if shutil.which("wrk") else "python"}
    phases = [
        (None, [("healthz", ["/healthz"]), ("ward", ward), ("everyone", everyone)]),
        ("0", [("uncached", everyone)]),
    ]
    for cache, runs in phases:
        extra = {} if cache is None else {"STANDBY_SUMMARY_CACHE_SECONDS": cache}
        with _server(db, workers, extra) as base:
            for name, ids in runs:
                paths = ids if name == "healthz" else [f"/patients/{p}" for p in ids]
                _load(base, paths, min(3.0, seconds))  # warm-up, not counted
                figures = _load(base, paths, seconds)
                result[name] = figures["ok"] / figures["seconds"]
                result[f"{name}_p99_ms"] = figures["p99_ms"]
                result[f"{name}_errors"] = figures["errors"]
    return result


@contextlib.contextmanager
def _server(db: Path, workers: int, extra: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "STANDBY_DB": str(db),
        "STANDBY_PORT": str(port),
        "STANDBY_HOST": "127.0.0.1",
        "STANDBY_WEB_WORKERS": str(workers),
        **extra,
    }
    env.pop("STANDBY_SOURCE_URL", None)
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
        yield base
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        if server.stderr:
            server.stderr.close()


def _load(base: str, paths: list[str], seconds: float) -> dict[str, Any]:
    """50 concurrent clients for `seconds`: wrk (C, a few % of a core) when installed,
    else the Python client below (which itself needs most of a core near 200 req/s)."""
    if shutil.which("wrk"):
        return _wrk(base, paths, seconds, CLIENTS)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from standby.bench.web_bench import load_main; load_main()",
            base,
            json.dumps(paths),
            str(seconds),
            str(CLIENTS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _cookie(base: str) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as c:
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


WRK_SCRIPT = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[math.fmod(counter, #paths) + 1], {["Cookie"] = %(cookie)s})
end
"""


def _wrk(base: str, paths: list[str], seconds: float, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "paths": ",".join(json.dumps(p) for p in paths),
                "cookie": json.dumps(_cookie(base)),
            }
        )
        out = subprocess.run(
            [
                *("wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency"),
                *("--timeout", "10s", "-s", str(script), base),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return parse_wrk(out)


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests, errors, duration and p99 latency from wrk's `--latency` report."""
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    if m is None:
        raise RuntimeError(f"wrk printed no totals:\n{text}")
    total = int(m.group(1))
    secs = float(m.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[m.group(3)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", text, re.M)
    p99_ms = (
        float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else 0.0
    )
    ok = max(0, total - (int(bad.group(1)) if bad else 0))
    return {"ok": ok, "errors": errors, "seconds": secs, "p99_ms": p99_ms}


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
    print(json.dumps(asyncio.run(_py_load(base, paths, seconds, concurrency))))


async def _py_load(base: str, paths: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
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
        "p99_ms": percentile(latencies, 99) if latencies else 0.0,
    }
