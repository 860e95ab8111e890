"""Load over real HTTP for `standby bench web`: start `standby serve` in its own process,
log in, and drive it with 50 concurrent clients — `wrk` (Debian's package: C, a few
percent of one core) when installed, else a Python client in a separate process (which
itself needs most of a core near 200 requests/s, so it understates the server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from standby.bench.harness import percentile

PASSWORD = "amber kestrel lantern"  # the bench account `standby bench web` creates
CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# what only the expected page holds: a 200 that is the login form (a lost session) or
# an error page is not a page served
SUMMARY_MARK = 'id="h-allergies"'
HEALTHZ_MARK = "ok"


def http_load(
    db: Path,
    workers: int,
    ward: list[str],
    everyone: list[str],
    seconds: float,
    *,
    clock: datetime | None = None,
) -> dict[str, Any]:
    """Pages per second over real HTTP: /healthz (the ceiling); summaries with the cache
    on (the default) for `ward` (a sample drawn with repeats: the same patients opened
    again and again) and for `everyone` in turn; and with the cache off. Only 200s that
    carry the expected page count; everything else is an error. `clock`: the server's
    clock pinned there (`standby.bench.pinned_serve`), else `standby serve` itself."""
    result: dict[str, Any] = {"client": "wrk" if shutil.which("wrk") else "python"}
    phases = [
        (None, [("healthz", ["/healthz"]), ("ward", ward), ("everyone", everyone)]),
        ("0", [("uncached", everyone)]),
    ]
    for cache, runs in phases:
        extra = {} if cache is None else {"STANDBY_SUMMARY_CACHE_SECONDS": cache}
        with _server(db, workers, extra, clock) as base:
            for name, ids in runs:
                paths = ids if name == "healthz" else [f"/patients/{p}" for p in ids]
                mark = HEALTHZ_MARK if name == "healthz" else SUMMARY_MARK
                _load(base, paths, min(3.0, seconds), mark)  # warm-up, not counted
                figures = _load(base, paths, seconds, mark)
                result[name] = figures["ok"] / figures["seconds"]
                result[f"{name}_p99_ms"] = figures["p99_ms"]
                result[f"{name}_errors"] = figures["errors"]
    return result


@contextlib.contextmanager
def _server(
    db: Path, workers: int, extra: dict[str, str], clock: datetime | None = None
) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "STANDBY_DB": str(db),
        "STANDBY_PORT": str(port),
        "STANDBY_HOST": "127.0.0.1",
        "STANDBY_WEB_WORKERS": str(workers),
        # the bench's replica is a plain file of synthetic data (the key is not what is measured)
        "STANDBY_DB_ENCRYPTION": "off",
        **extra,
    }
    env.pop("STANDBY_SOURCE_URL", None)
    command = [sys.executable, "-c", "from standby.cli.main import main; main()"]
    command += ["serve", "--no-monitor"]
    if clock is not None:
        command = [sys.executable, "-c", "from standby.bench.pinned_serve import main; main()"]
        command.append(clock.isoformat())
    server = subprocess.Popen(
        command,
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


def _load(base: str, paths: list[str], seconds: float, mark: str) -> dict[str, Any]:
    """50 concurrent clients for `seconds`: wrk (C, a few % of a core) when installed,
    else the Python client below (which itself needs most of a core near 200 req/s).
    "ok" counts the 200s whose body holds `mark`."""
    if shutil.which("wrk"):
        return _wrk(base, paths, seconds, CLIENTS, mark)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from standby.bench.http_load import load_main; load_main()",
            base,
            json.dumps(paths),
            str(seconds),
            str(CLIENTS),
            mark,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _cookie(base: str) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=300) as c:  # a first page on a busy machine
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


WRK_SCRIPT = """
paths = {%(paths)s}
mark = %(mark)s
counter = 0
good = 0
threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[math.fmod(counter, #paths) + 1], {["Cookie"] = %(cookie)s})
end
response = function(status, headers, body)
  if status == 200 and string.find(body, mark, 1, true) then
    good = good + 1
  end
end
done = function(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("good")
  end
  io.write(string.format("expected pages: %%d\\n", n))
end
"""


def _wrk(base: str, paths: list[str], seconds: float, clients: int, mark: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "paths": ",".join(json.dumps(p) for p in paths),
                "mark": json.dumps(mark),
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
        )
    if "expected pages:" not in out.stdout:  # wrk runs on when its script fails to load
        raise RuntimeError(f"wrk's script counted nothing:\n{out.stderr[-2000:]}")
    return parse_wrk(out.stdout)


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests, errors, duration and p99 latency from wrk's `--latency` report; "ok" is
    the count of expected pages the script printed (every answer that is not one is an
    error: a redirect to /login, an error page), or, without that line, the 2xx."""
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
    expected = re.search(r"^expected pages: (\d+)", text, re.M)
    if expected is not None:
        ok = int(expected.group(1))
        errors = (total - ok) + (sum(int(x) for x in sock.groups()) if sock else 0)
    else:
        ok = max(0, total - (int(bad.group(1)) if bad else 0))
    return {"ok": ok, "errors": errors, "seconds": secs, "p99_ms": p99_ms}


def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    # opening a 1M-resource replica (its directory, its caches) on a shared machine took
    # more than a minute: a server that did not start in time cost the run's figures
    deadline = time.monotonic() + float(os.environ.get("STANDBY_BENCH_SERVE_WAIT", "600"))
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
    base, paths_json, seconds_s, conc_s, mark = sys.argv[1:6]
    paths = json.loads(paths_json)
    seconds, concurrency = float(seconds_s), int(conc_s)
    print(json.dumps(asyncio.run(_py_load(base, paths, seconds, concurrency, mark))))


async def _py_load(
    base: str, paths: list[str], seconds: float, concurrency: int, mark: str
) -> dict[str, Any]:
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
                    if r.status_code == 200 and mark in r.text:
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
