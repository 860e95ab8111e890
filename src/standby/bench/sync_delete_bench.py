"""`standby bench sync`'s delete figures (docs/sync.md#deletes): the time for a delete at
the simulated EHR to reach the replica as a tombstone, with `_history` and without it (by
reconciliation). Part of `sync_bench.py`'s run, which serves the EHR with `serve`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from standby.bench.harness import Figure, Progress, percentile
from standby.bench.sync_bench import serve
from standby.store.sqlite import SQLiteStore


def under_fhir(app: Any) -> Any:
    """An ASGI app served under /fhir (the base URL `serve` gives)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"].removeprefix("/fhir") or "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)

    return asgi


def delete_latency(
    data: Path, work: Path, *, history: bool, reconcile_minutes: float, deletes: int = 10
) -> tuple[list[float], int]:
    """Seconds from a delete at the simulated EHR (with or without `_history`) to the
    resource's tombstone in the replica, synchronised in census mode with rounds every 5 s;
    and how many deletes never arrived within two reconciliation periods."""
    import random

    from standby.settings import load_settings
    from standby.sim.server import create_app
    from standby.sim.server.strict import Strictness
    from standby.store.ingest import ingest_directory
    from standby.sync.runner import SyncRunner

    tag = "history" if history else "reconcile"
    src = SQLiteStore(work / f"del-source-{tag}.db")
    ingest_directory(src, data)
    rep_path = work / f"del-replica-{tag}.db"
    rep = SQLiteStore(rep_path)
    ingest_directory(rep, data)
    app = create_app(src, strict=Strictness(no_history=not history))
    lat: list[float] = []
    with serve(lambda base: under_fhir(app)) as url:
        settings = load_settings(
            source_url=url,
            db=rep_path,
            sync_seed_mode="none",
            sync_interval_seconds=5.0,
            sync_reconcile_minutes=reconcile_minutes,
        )
        runner = SyncRunner(settings, rep)
        runner.run_round()  # the census and its full pulls; the deletes' first mark
        runner.run_round()
        patients = sorted(
            {
                (r.json().get("subject") or {}).get("reference", "").removeprefix("Patient/")
                for r in src.search("Encounter", [("status", "in-progress")], count=1000).resources
            }
            - {""}
        )
        rng = random.Random(5)
        targets: list[tuple[str, str]] = []
        for pid in rng.sample(patients, min(deletes, len(patients))):
            obs = src.search("Observation", [("patient", f"Patient/{pid}")], count=5).resources
            if obs:
                targets.append(("Observation", obs[0].id))
        pending: dict[tuple[str, str], float] = {}
        stop = threading.Event()

        def rounds() -> None:
            while not stop.is_set():
                t0 = time.monotonic()
                runner.run_round()
                stop.wait(max(0.0, 5.0 - (time.monotonic() - t0)))

        thread = threading.Thread(target=rounds, daemon=True)
        thread.start()
        for key in targets:  # one delete every 2 s, at random points of the rounds
            src.delete(*key)
            pending[key] = time.monotonic()
            stop.wait(2.0)
        deadline = time.monotonic() + max(120.0, 2 * 60 * reconcile_minutes + 30)
        while pending and time.monotonic() < deadline:
            for key, t in list(pending.items()):
                held = rep.read(*key)
                if held is not None and held.deleted:
                    lat.append(time.monotonic() - t)
                    del pending[key]
            time.sleep(0.25)
        stop.set()
        thread.join(timeout=120)
        runner.close()
    app.state.exports.close()
    src.close()
    rep.close()
    return lat, len(pending)


def delete_figures(data: Path, work: Path, progress: Progress) -> list[Figure]:
    """Time for a delete at the source to disappear from the replica, with `_history` and
    without it (by reconciliation every minute)."""
    figures: list[Figure] = []
    for history, minutes in ((True, 60.0), (False, 1.0)):
        label = (
            "with _history" if history else f"without _history (reconcile every {minutes:g} min)"
        )
        progress.step(f"delete latency {label}")
        lat, never = delete_latency(data, work, history=history, reconcile_minutes=minutes)
        worst = max(lat) if lat else float("nan")
        # without _history a delete waits for the next reconciliation (the period) and for
        # that reconciliation to reach its type (it is spread over rounds)
        goal = "< 300 s" if history else f"< {120 * minutes + 30:g} s (2 periods + 30 s)"
        bound = 300.0 if history else 120 * minutes + 30
        figures += [
            Figure(
                f"delete → gone from the replica, max {label} ({len(lat)} deletes)",
                round(worst, 1),
                "s",
                goal,
                bool(lat) and worst < bound and never == 0,
            ),
            Figure(
                f"delete → gone, p50 {label}",
                round(percentile(lat, 50), 1) if lat else float("nan"),
                "s",
                "",
                None,
            ),
        ]
    return figures
