"""`standby bench fhir`: how fast the read-only FHIR API answers other systems.

Figures, each beside the same run's `/healthz` (the same server and load doing no work:
the HTTP ceiling of the machine) — docs/fhir-api.md#performance:

* reads/s: `GET /fhir/Patient/{id}` over the admitted patients in turn;
* searches/s: a patient's vitals, newest first (`Observation?patient=..&category=
  vital-signs&_sort=-date`, the first page of 50: its snapshot written when there are
  more), over the admitted patients in turn;
* `Patient/$everything` p50 / p95, one client at a time, over the admitted patients;
* a system `$export`'s resources/s beside the store's own iteration, and the workers' RSS
  (`fhir_export_bench.py`).

`standby serve` runs in its own process with `STANDBY_BENCH_WEB_WORKERS` workers (default
2, one per core), driven by `wrk` (50 connections; Debian's package, required here: a
Python client would itself need most of a core at these rates). Every request carries a
bearer token of a client registered for the run and writes its audit line, as in use.

Scale: `--scale 1` generates a hospital of 100 beds (~100,000 resources; cached in
`.cache/bench-fhir/`); `--scale 10` is 1,000 beds (~1M). `STANDBY_BENCH_FHIR_DB` names an
existing replica to copy instead (e.g. another bench's 1,000-bed one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from standby.bench.fhir_export_bench import export_figures
from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica
from standby.bench.http_load import CLIENTS, _server, parse_wrk

CACHE = Path(".cache") / "bench-fhir"
SEARCH = "/fhir/Observation?patient={}&category=vital-signs&_sort=-date&_count=50"

WRK_SCRIPT = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[math.fmod(counter, #paths) + 1], {["Authorization"] = %(auth)s})
end
"""


def _replica(scale: float, progress: Progress) -> Path:
    given = os.environ.get("STANDBY_BENCH_FHIR_DB")
    src = Path(given) if given else cached_replica(CACHE, max(20, int(100 * scale)), progress)
    work = CACHE / "run.db"
    work.parent.mkdir(parents=True, exist_ok=True)
    progress.step(f"copying {src}")
    for suffix in (".audit-anchors", ".secret"):  # the last run's, of another database
        Path(str(work) + suffix).unlink(missing_ok=True)
    work.with_suffix(".secret").unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        s, d = Path(str(src) + suffix), Path(str(work) + suffix)
        if d.exists():
            d.unlink()
        if s.exists():
            shutil.copy(s, d)
    return work


class _Tokens:
    """Bearer tokens of a client registered for this run, got as a client gets them; a new
    one for each phase (an access token lasts five minutes, and at 1M resources on a busy
    machine the export alone can take longer)."""

    def __init__(self, db: Path) -> None:
        from standby.api import smart
        from standby.store import open_store
        from standby.sync.jwks import generate_private_key, jwks

        self.db = db
        self.key = generate_private_key()
        store = open_store(db=db)
        try:
            client = smart.add_client(
                store, name="bench", jwks=jwks(self.key), scope="system/*.read"
            )
        finally:
            store.close()
        self.client_id = client.client_id

    def fresh(self) -> str:
        from standby.api import smart
        from standby.store import open_store
        from standby.sync.auth import client_assertion
        from standby.sync.jwks import key_id_of

        url = "http://bench/fhir/auth/token"
        assertion = client_assertion(
            self.key, client_id=self.client_id, token_url=url, kid=key_id_of(self.key.public_key())
        )
        store = open_store(db=self.db)
        try:
            answer = smart.Authority(store).issue(
                {
                    "grant_type": "client_credentials",
                    "client_assertion_type": smart.ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
                url,
            )
        finally:
            store.close()
        return str(answer["access_token"])


def _token(db: Path) -> str:
    """A bearer token of a client registered for this run."""
    return _Tokens(db).fresh()


def _admitted(db: Path) -> tuple[list[str], int]:
    from standby import clinical, clock
    from standby.store import open_store

    store = open_store(db=db)
    try:
        now = clock.now()
        ids = [
            b.patient.id
            for u in clinical.units(store)
            for b in clinical.unit_census(store, u.id, now).beds
            if b.patient is not None
        ]
        total = sum(store.counts_by_type().values())
    finally:
        store.close()
    return list(dict.fromkeys(ids)), total


def _wrk(base: str, paths: list[str], seconds: float, token: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "paths": ",".join(json.dumps(p) for p in paths),
                "auth": json.dumps(f"Bearer {token}"),
            }
        )
        out = subprocess.run(
            [
                *("wrk", "-t1", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s", "--latency"),
                *("--timeout", "10s", "-s", str(script), base),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return parse_wrk(out)


@benchmark("fhir")
def bench_fhir(scale: float, progress: Progress) -> list[Figure]:
    import httpx

    if not shutil.which("wrk"):
        raise RuntimeError("standby bench fhir needs wrk (apt-get install wrk)")
    db = _replica(scale, progress)
    progress.step("finding the admitted patients")
    patients, total = _admitted(db)
    tokens = _Tokens(db)
    workers = int(os.environ.get("STANDBY_BENCH_WEB_WORKERS", "2"))
    seconds = float(os.environ.get("STANDBY_BENCH_WEB_SECONDS", "10"))
    rates: dict[str, dict[str, Any]] = {}
    runs = {
        "healthz": ["/healthz"],
        "reads": [f"/fhir/Patient/{p}" for p in patients],
        "searches": [SEARCH.format(p) for p in patients],
    }
    everything_ms: list[float] = []
    # a generated hospital's copy, made for this run: nothing to encrypt
    with _server(db, workers, {"STANDBY_DB_ENCRYPTION": "off"}) as base:
        # first, so that the workers' peak RSS is the export's, not the load's
        export = export_figures(base, tokens.fresh, db, progress)
        for name, paths in runs.items():
            progress.step(f"{name} over HTTP")
            token = tokens.fresh()
            _wrk(base, paths, min(3.0, seconds), token)  # warm-up, not counted
            rates[name] = _wrk(base, paths, seconds, token)
        progress.step("Patient/$everything, one at a time")
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {tokens.fresh()}"}, timeout=60
        ) as c:
            for p in patients[: min(len(patients), 200)]:
                t = time.perf_counter()
                r = c.get(f"/fhir/Patient/{p}/$everything")
                everything_ms.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"$everything answered {r.status_code}: {r.text[:300]}")
    healthz = rates["healthz"]["ok"] / rates["healthz"]["seconds"]
    client = "wrk"
    errors = sum(int(r["errors"]) for r in rates.values())
    per_s = {k: v["ok"] / v["seconds"] for k, v in rates.items()}
    return [
        Figure("resources in the replica", float(total), "resources", "1M at full scale", None),
        Figure(
            f"reads/s, Patient/{{id}} ({workers} workers; {client}, {CLIENTS} connections)",
            per_s["reads"],
            "req/s",
            "-",
            None,
            healthz,
            "/healthz req/s",
        ),
        Figure(
            "searches/s, a patient's vitals newest first (first page of 50)",
            per_s["searches"],
            "req/s",
            "-",
            None,
            healthz,
            "/healthz req/s",
        ),
        Figure("search p99 latency under load", rates["searches"]["p99_ms"], "ms", "-", None),
        Figure(
            f"Patient/$everything p50 ({len(everything_ms)} admitted patients)",
            percentile(everything_ms, 50),
            "ms",
            "-",
            None,
        ),
        Figure(
            "Patient/$everything p95",
            percentile(everything_ms, 95),
            "ms",
            "p95 < 1 s",
            percentile(everything_ms, 95) < 1000,
        ),
        Figure("failed requests under load", float(errors), "requests", "0", errors == 0),
        *export,
    ]
