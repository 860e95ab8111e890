"""`standby bench edge`: an edge node copying one unit from a central Standby
(docs/edge-nodes.md#performance).

The central node is `standby serve` in its own process over a generated hospital (100 beds
at `--scale 1`, cached in `.cache/bench-edge/`); the edge node is this process's
`SyncRunner` with `sync_units` = the care unit whose bed count is nearest 30, SMART Backend
Services auth as in use, into a fresh SQLite replica.

* seed: seconds from an empty replica to the unit's patients pulled in full (the census
  seed and the first round), beside the same run's baseline: one round with nothing new;
* freshness at 50 changes/s: a writer adds Observations to the unit's patients in the
  central node's replica at 50 a second (as the central node's sync would) for 60 s ×
  scale, while the edge node runs rounds every second; per change, the time from its write
  until an edge round has it. p95 goal: under 30 s.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.bench.hospital import cached_replica
from standby.bench.http_load import _server

CACHE = Path(".cache") / "bench-edge"
RATE = 50.0


def _change(n: int, pid: str) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return orjson.dumps(
        {
            "resourceType": "Observation",
            "id": f"bench-edge-{n}",
            "meta": {"versionId": "1", "lastUpdated": now},
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": now,
            "valueQuantity": {"value": 60 + n % 40, "unit": "/min"},
        }
    )


@benchmark("edge")
def bench_edge(scale: float, progress: Progress) -> list[Figure]:
    from standby.api import smart
    from standby.clinical.census import unit_census, units
    from standby.settings import load_settings
    from standby.store import open_store
    from standby.sync.jwks import generate_private_key, jwks, write_private_key
    from standby.sync.runner import SyncRunner

    source = cached_replica(CACHE, 100, progress)
    with tempfile.TemporaryDirectory(prefix="standby-bench-edge-") as tmp:
        work = Path(tmp)
        central_db = work / "central.db"
        shutil.copy(source, central_db)
        central = open_store(db=central_db)
        unit = min(units(central), key=lambda u: abs(u.beds - 30))
        pids = [p.id for p in unit_census(central, unit.id, datetime.now(UTC)).patients]
        key = generate_private_key("ES384")
        write_private_key(key, work / "edge.pem")
        client = smart.add_client(central, name="bench-edge", jwks=jwks(key), scope="system/*.read")
        edge = open_store(db=work / "edge.db")
        with _server(central_db, 2, {"STANDBY_DB_ENCRYPTION": "off"}) as base:
            settings = load_settings(
                db=work / "edge.db",
                db_encryption="off",
                source_url=f"{base}/fhir",
                auth="smart-backend",
                client_id=client.client_id,
                private_key=work / "edge.pem",
                sync_units=[unit.alias],
            )
            runner = SyncRunner(settings, edge)
            progress.step(f"seeding unit {unit.alias} ({unit.beds} beds, {len(pids)} patients)")
            t0 = time.perf_counter()
            runner.check_auth()
            runner.seed()
            first = runner.run_round()
            seed_s = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            idle = runner.run_round()
            idle_s, idle_cpu = time.perf_counter() - t0, time.process_time() - c0
            idle_got = idle.stats.written + idle.stats.unchanged
            in_progress = central.search(
                "Encounter", [("status", "in-progress")], count=1, total=True
            )
            progress.step(f"freshness at {RATE:g} changes/s")
            written: dict[str, float] = {}
            stop = threading.Event()

            def writer() -> None:
                n = 0
                start = time.monotonic()
                while not stop.is_set():
                    due = start + n / RATE
                    time.sleep(max(0.0, due - time.monotonic()))
                    central.upsert_many([_change(n, pids[n % len(pids)])])
                    written[f"bench-edge-{n}"] = time.monotonic()
                    n += 1

            thread = threading.Thread(target=writer, daemon=True)
            thread.start()
            seen: dict[str, float] = {}
            duration = 60.0 * scale
            t_end = time.monotonic() + duration
            rounds_ok = 0
            while time.monotonic() < t_end or (len(seen) < len(written) and rounds_ok < 1000):
                if time.monotonic() >= t_end:
                    stop.set()
                r0 = time.monotonic()
                rounds_ok += int(runner.run_round().ok)
                done = time.monotonic()
                for rid in [k for k in list(written) if k not in seen]:
                    if edge.read("Observation", rid) is not None:
                        seen[rid] = done
                if stop.is_set() and len(seen) == len(written):
                    break
                time.sleep(max(0.0, 1.0 - (time.monotonic() - r0)))
            stop.set()
            thread.join(10)
            runner.close()
        lags = [seen[k] - written[k] for k in seen]
        missing = len(written) - len(seen)
        edge.close()
        central.close()
    p95 = percentile(lags, 95) if lags else float("inf")
    return [
        Figure(
            f"seed of unit {unit.alias} ({unit.beds} beds) from the central node",
            seed_s,
            "s",
            "",
            bool(first.ok),
            baseline=idle_s,
            baseline_name="a round with no change",
        ),
        Figure(
            f"a round with no change: resources received ({idle.requests} requests)",
            idle_got,
            "resources",
            "",
            None,
            baseline=float(in_progress.total or 0),
            baseline_name="the hospital's Encounters in progress",
        ),
        Figure(
            "a round with no change: the edge process's CPU",
            idle_cpu,
            "s",
            "",
            None,
            baseline=idle_s,
            baseline_name="its wall time",
        ),
        Figure(
            f"freshness p95 at {RATE:g} changes/s ({len(written)} changes, {missing} missed)",
            p95,
            "s",
            "< 30 s",
            p95 < 30 and missing == 0 and bool(idle.ok),
            baseline=percentile(lags, 50) if lags else None,
            baseline_name="p50",
        ),
    ]
