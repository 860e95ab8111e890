"""`standby bench hl7` — how many lab results a second the HL7 v2 listener ingests.

A `standby hl7 listen` process (its own SQLite replica, ACK after a durable commit) is sent
50 admissions and then 5,000 × scale ORU^R01 results (a basic metabolic panel each: one
DiagnosticReport and three Observations) the way an interface engine sends a busy feed:
over 4 connections, each patient's results on one of them in order, each connection
keeping 50 messages in flight. Baseline, in the same run, with the same sender: a bare MLLP
receive-and-ACK process that neither parses nor stores (the ceiling of the transport in
Python). Goal: ≥ 1,000 results/s on 2 cores and ≥ 0.5 of the baseline. Figures for the
listener alone and with 2 worker processes that read and map (`--workers 2`), and the p95
time from sending a result to its ACK — the moment it is committed — one message at a
time.

Send → visible in the viewer: 200 × scale further results sent at a steady 20 a second
(not waiting for ACKs), while this process reads the replica as the viewer does (its own
read connection to the same file) every 5 ms until each result's DiagnosticReport is
there; p50 and p95 of those times (goal: p95 < 2 s). The viewer's summary cache drops a
patient's summary on the store's change marks, so what is in the replica shows on the next
page view.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from standby.bench.harness import Figure, Progress, benchmark, percentile
from standby.hl7 import synthetic
from standby.hl7.datatypes import Context, stable_id
from standby.hl7.mllp import END, frame, unframe
from standby.hl7.prepare import control_id_of, decode
from standby.hl7.sender import SendReport, send

PATIENTS = 50
WINDOW = 50  # messages in flight on each connection
CONNECTIONS = 4  # the sender's connections, each patient's messages on one
VISIBLE_RATE = 20.0  # results a second, for send → visible
POLL = 0.005  # seconds between reads of the replica
FILLER = Context().local_system("filler-order", "LAB")  # OBR-3 F{n}^LAB, as synthetic sends


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _standby() -> str:
    return str(Path(sys.executable).with_name("standby"))


def _start(args: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "STANDBY_DB_ENCRYPTION": "off"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on"):
        proc.kill()
        raise RuntimeError(f"{args[:3]} did not start: {line!r}")
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _rate(results: list[bytes], port: int, window: int) -> float:
    """Results a second, sent over `CONNECTIONS` connections: result `n` is for patient
    `n % PATIENTS` (`synthetic.feed`), and each patient's results go on one connection."""
    parts = [
        [m for n, m in enumerate(results) if n % PATIENTS % CONNECTIONS == c]
        for c in range(CONNECTIONS)
    ]

    async def all_of_them() -> list[SendReport]:
        return await asyncio.gather(
            *(send(p, "127.0.0.1", port, window=window, timeout=60) for p in parts if p)
        )

    start = time.perf_counter()
    reports = asyncio.run(all_of_them())
    elapsed = time.perf_counter() - start
    aa = sum(r.count("AA") for r in reports)
    if aa != len(results):
        raise RuntimeError(f"only {aa} of {len(results)} messages were AA")
    return len(results) / elapsed


def _latencies(messages: list[bytes], port: int) -> list[float]:
    """Seconds from sending each message to its ACK, one message at a time."""
    marks: list[float] = []
    start = time.perf_counter()
    asyncio.run(
        send(
            messages,
            "127.0.0.1",
            port,
            window=1,
            timeout=60,
            on_ack=lambda _n: marks.append(time.perf_counter()),
        )
    )
    previous = [start, *marks[:-1]]
    return [b - a for a, b in zip(previous, marks, strict=True)]


async def _visible_times(
    messages: list[tuple[int, bytes]], port: int, db: Path, rate: float
) -> list[float]:
    """Seconds from writing each (filler number, message) to the listener, at `rate` a
    second, to its DiagnosticReport being readable in the replica."""
    from standby.store import open_store

    store = open_store(db=db)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    ids = {n: stable_id("v2dr", f"{FILLER}|F{n}") for n, _ in messages}

    async def drain_acks() -> None:
        for _ in messages:
            await reader.readuntil(END)

    async def poll() -> None:
        while len(seen) < len(messages):
            pending = [rid for rid in sent if rid not in seen]
            for rid in pending:
                if store.read("DiagnosticReport", rid) is not None:
                    seen[rid] = time.perf_counter()
            await asyncio.sleep(POLL)

    acks = asyncio.create_task(drain_acks())
    poller = asyncio.create_task(poll())
    try:
        start = time.perf_counter()
        for k, (n, raw) in enumerate(messages):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            writer.write(frame(raw))
            sent[ids[n]] = time.perf_counter()
            await writer.drain()
        await asyncio.wait_for(asyncio.gather(acks, poller), timeout=120)
    finally:
        for task in (acks, poller):
            task.cancel()
        writer.close()
        store.close()
    return [seen[rid] - sent[rid] for rid in sent]


def _listener_rate(
    results: int, workers: int, tmp: Path, progress: Progress, visible: int = 0
) -> tuple[float, list[float], list[float]]:
    port = _free_port()
    db = tmp / f"replica-{workers}.db"
    proc = _start(
        [
            _standby(),
            "hl7",
            "listen",
            "--port",
            str(port),
            "--db",
            str(db),
            "--workers",
            str(workers),
        ]
    )
    try:
        t0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
        feed = synthetic.feed(PATIENTS, results + 200 + visible, start=t0)
        asyncio.run(send(feed[:PATIENTS], "127.0.0.1", port, window=WINDOW))
        progress.step(f"{results} results to the listener ({workers} workers)")
        rate = _rate(feed[PATIENTS : PATIENTS + results], port, WINDOW)
        if workers != 0:
            return rate, [], []
        lat = _latencies(feed[PATIENTS + results : PATIENTS + results + 200], port)
        progress.step(f"{visible} results at {VISIBLE_RATE:g}/s, each until the replica shows it")
        first = results + 200  # the feed's result numbers (n) after the admissions
        tail = list(enumerate(feed[PATIENTS + first :], start=first))
        seen = asyncio.run(_visible_times(tail, port, db, VISIBLE_RATE)) if tail else []
        return rate, lat, seen
    finally:
        _stop(proc)


def _baseline_rate(results: int, progress: Progress) -> float:
    port = _free_port()
    proc = _start([sys.executable, "-m", "standby.bench.hl7_bench", "bare-ack", str(port)])
    try:
        progress.step(f"{results} results to a bare receive-and-ACK process")
        feed = synthetic.feed(PATIENTS, results)
        return _rate(feed[PATIENTS:], port, WINDOW)
    finally:
        _stop(proc)


@benchmark("hl7")
def bench_hl7(scale: float, progress: Progress) -> list[Figure]:
    results = max(200, int(5000 * scale))
    with tempfile.TemporaryDirectory(prefix="standby-bench-hl7-") as d:
        tmp = Path(d)
        baseline = _baseline_rate(results, progress)
        alone, lat, seen = _listener_rate(
            results, 0, tmp, progress, visible=max(50, int(200 * scale))
        )
        pooled, _, _ = _listener_rate(results, 2, tmp, progress)
    base_name = "bare MLLP receive-and-ACK, same sender"
    p95 = percentile(lat, 95)
    return [
        Figure(
            "ORU results ingested/s (listener)",
            alone,
            "msg/s",
            "≥ 1000 and ≥ 0.5× baseline",
            alone >= 1000 and alone >= 0.5 * baseline,
            baseline,
            base_name,
        ),
        Figure(
            "ORU results ingested/s (--workers 2)",
            pooled,
            "msg/s",
            "≥ 1000 and ≥ 0.5× baseline",
            pooled >= 1000 and pooled >= 0.5 * baseline,
            baseline,
            base_name,
        ),
        Figure(
            "send → ACK (committed), p95, one at a time", p95 * 1000, "ms", "< 2000 ms", p95 < 2.0
        ),
        Figure(
            f"send → visible in the viewer, p50, {VISIBLE_RATE:g}/s",
            percentile(seen, 50) * 1000,
            "ms",
            "—",
            None,
        ),
        Figure(
            f"send → visible in the viewer, p95, {VISIBLE_RATE:g}/s",
            percentile(seen, 95) * 1000,
            "ms",
            "< 2000 ms",
            percentile(seen, 95) < 2.0,
        ),
    ]


# ---- the baseline server: receive a frame, answer AA, nothing else ---------------------
async def _bare_ack(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                block = await reader.readuntil(END)
                cid = control_id_of(decode(unframe(block)))
                writer.write(
                    frame(f"MSH|^~\\&|STANDBY||||||ACK|{cid}|P|2.5.1\rMSA|AA|{cid}\r".encode())
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening on mllp://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__" and sys.argv[1:2] == ["bare-ack"]:
    asyncio.run(_bare_ack(int(sys.argv[2])))
