"""`standby bench hl7` — how many lab results a second the HL7 v2 listener ingests.

A `standby hl7 listen` process (its own SQLite replica, ACK after a durable commit) is sent
50 admissions and then 5,000 × scale ORU^R01 results (a basic metabolic panel each: one
DiagnosticReport and three Observations) by one sender keeping 50 messages in flight.
Baseline, in the same run, with the same sender: a bare MLLP receive-and-ACK process that
neither parses nor stores (the ceiling of the transport in Python). Goal: ≥ 1,000 results/s
on 2 cores and ≥ 0.5 of the baseline. Figures for the listener alone and with 2 worker
processes that read and map (`--workers 2`), and the p95 time from sending a result to its
ACK — the moment it is committed, hence visible to the viewer — one message at a time.
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
from standby.hl7.mllp import END, frame, unframe
from standby.hl7.prepare import control_id_of, decode
from standby.hl7.sender import send

PATIENTS = 50
WINDOW = 50


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


def _rate(messages: list[bytes], port: int, window: int) -> float:
    start = time.perf_counter()
    report = asyncio.run(send(messages, "127.0.0.1", port, window=window, timeout=60))
    elapsed = time.perf_counter() - start
    if report.count("AA") != len(messages):
        raise RuntimeError(f"only {report.count('AA')} of {len(messages)} messages were AA")
    return len(messages) / elapsed


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


def _listener_rate(
    results: int, workers: int, tmp: Path, progress: Progress
) -> tuple[float, list[float]]:
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
        feed = synthetic.feed(PATIENTS, results + 200, start=t0)
        asyncio.run(send(feed[:PATIENTS], "127.0.0.1", port, window=WINDOW))
        progress.step(f"{results} results to the listener ({workers} workers)")
        rate = _rate(feed[PATIENTS : PATIENTS + results], port, WINDOW)
        lat = _latencies(feed[PATIENTS + results :], port) if workers == 0 else []
        return rate, lat
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
        alone, lat = _listener_rate(results, 0, tmp, progress)
        pooled, _ = _listener_rate(results, 2, tmp, progress)
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
