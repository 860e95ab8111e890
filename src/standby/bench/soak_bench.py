"""`standby bench soak --minutes N` — does the demo's stack stay flat for hours?

Starts `standby demo` (a fresh 200-bed hospital in a temporary folder, 20 changes/s)
exactly as an evaluator would: the simulated EHR with its change feed, `sync --watch`, the
monitor, packets every 15 minutes and the viewer, each its own process. While it runs, a
nurse views pages (the unit list, her unit's census, a patient's summary) every 10 s, and
every 10 s the RSS of each process and the size of the replica are sampled.

Figures, from the samples after the warm-up (a quarter of the run, at most 10 minutes): each
process's RSS slope by least squares in MB/hour (goal: under 10 MB/hour, the simulated EHR
included) beside its RSS at the end of the warm-up; the replica's and the simulated EHR's
growth on disk per hour; the viewer's page times (p50, p95) while everything runs; and the
restarts the supervisor made (goal 0). `--minutes N`, else 10 minutes × `--scale`; the
goal is stated for a 60-minute run (`--minutes 60`), and a shorter run's slopes are
noisier. The samples are kept in `$TMPDIR/standby-soak-samples-<pid>.json` while it runs.
`STANDBY_SOAK_HOSPITAL` names a folder of a hospital generated before (a demo's `ehr/`
folder): its NDJSON is copied in and the demo skips generating one (minutes of the start).
`STANDBY_MEMDEBUG_DIR` (`standby.memdebug`) makes every process report what grows.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil

from standby.bench.harness import Figure, Progress, benchmark, percentile

BEDS = 200  # the demo's default hospital
CHANGE_RATE = 20.0
SAMPLE_S = 10.0
PAGE_EVERY_S = 10.0
GOAL_MB_PER_HOUR = 10.0
GOAL_MINUTES = 60.0
# the samples so far, rewritten at each sample (figures can be recomputed after a long run)
SAMPLES_FILE = Path(tempfile.gettempdir()) / f"standby-soak-samples-{os.getpid()}.json"
PARTS = {  # how each part's command line reads → its name in the figures
    "sim serve": "simulated EHR",
    "sync --watch": "sync",
    "monitor run": "monitor",
    "report --watch": "packets",
    "serve --no-monitor": "viewer",
    "hl7 listen": "HL7 listener",
}


@dataclass
class Samples:
    t: list[float] = field(default_factory=list)
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    disk: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    pids: dict[str, set[int]] = field(default_factory=dict)
    pages_ms: list[tuple[float, float]] = field(default_factory=list)
    page_errors: int = 0


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) in value per hour (0 for fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    if var == 0:
        return 0.0
    cov = sum((p[0] - mx) * (p[1] - my) for p in points)
    return cov / var * 3600.0


def _part_name(cmdline: list[str]) -> str | None:
    line = " ".join(cmdline)
    for needle, name in PARTS.items():
        if needle in line:
            return name
    return None


def _sample(demo: psutil.Process, run_dir: Path, t0: float, s: Samples) -> None:
    now = time.monotonic() - t0
    procs = [("supervisor", demo)]
    with contextlib.suppress(psutil.Error):
        for child in demo.children():
            name = _part_name(child.cmdline())
            if name:
                procs.append((name, child))
    for name, p in procs:
        with contextlib.suppress(psutil.Error):
            s.rss.setdefault(name, []).append((now, p.memory_info().rss / 2**20))
            s.pids.setdefault(name, set()).add(p.pid)
    for label, base in (
        ("replica", run_dir / "standby.db"),
        ("simulated EHR", run_dir / "ehr" / "ehr.db"),
    ):
        size = sum(
            f.stat().st_size for f in (base, base.with_name(base.name + "-wal")) if f.exists()
        )
        s.disk.setdefault(label, []).append((now, size / 2**20))


class Nurse:
    """A nurse viewing pages now and then: the unit list, her census, a patient."""

    def __init__(self, base: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        page = self.client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        self.client.post(
            "/login",
            data={"username": "nurse", "password": "standby-demo", "csrf_token": token},
        )
        self.turn = 0

    def view(self, s: Samples, t0: float) -> None:
        units = re.findall(r'href="(/units/[^"]+)"', self._get("/units", s, t0))
        if units:
            census = self._get(units[0], s, t0)
            patients = sorted(set(re.findall(r'href="(/patients/[^"/]+)"', census)))
            if patients:
                self._get(patients[self.turn % len(patients)], s, t0)
                self.turn += 1

    def _get(self, path: str, s: Samples, t0: float) -> str:
        start = time.perf_counter()
        try:
            r = self.client.get(path)
        except Exception:
            s.page_errors += 1
            return ""
        ms = (time.perf_counter() - start) * 1000
        if r.status_code != 200:
            s.page_errors += 1
            return ""
        s.pages_ms.append((time.monotonic() - t0, ms))
        return r.text

    def close(self) -> None:
        self.client.close()


def _start_demo(run_dir: Path, beds: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from standby.cli.demo import free_port
    from standby.cli.demo_processes import standby_argv

    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                *standby_argv("demo", "--dir", str(run_dir)),
                "--beds",
                str(beds),
                "--port",
                str(port),
                "--ehr-port",
                "0",
                "--hl7-port",
                "0",  # two soaks (or a demo) on one machine must not share 2575
                "--change-rate",
                str(CHANGE_RATE),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return proc, f"http://127.0.0.1:{port}"


def _wait_welcome(proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 3600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo stopped while starting:\n{log.read_text()[-3000:]}")
        if "Stop with Ctrl-C" in log.read_text(errors="replace"):
            return
        time.sleep(1)
    raise RuntimeError("the demo did not start within an hour")


def soak(beds: int, minutes: float, progress: Progress, keep: Path | None = None) -> Samples:
    """Run the demo for `minutes` after it has started; the samples taken meanwhile."""
    tmp = tempfile.TemporaryDirectory(prefix="standby-soak-")
    run_dir = (keep or Path(tmp.name)) / "demo"
    log = run_dir.parent / "demo.log"
    given = os.environ.get("STANDBY_SOAK_HOSPITAL")
    if given:
        ehr = run_dir / "ehr"
        ehr.mkdir(parents=True, mode=0o700)
        run_dir.chmod(0o700)
        for f in Path(given).glob("*.ndjson"):
            shutil.copyfile(f, ehr / f.name)
    progress.step(f"starting the demo ({beds} beds) in {run_dir}")
    proc, base = _start_demo(run_dir, beds, log)
    s = Samples()
    try:
        _wait_welcome(proc, log)
        demo = psutil.Process(proc.pid)
        nurse = Nurse(base)
        t0 = time.monotonic()
        end = t0 + minutes * 60
        next_sample = next_page = t0
        stop = threading.Event()
        while time.monotonic() < end and not stop.is_set():
            if proc.poll() is not None:
                raise RuntimeError(f"the demo stopped:\n{log.read_text()[-3000:]}")
            now = time.monotonic()
            if now >= next_sample:
                _sample(demo, run_dir, t0, s)
                next_sample += SAMPLE_S
                SAMPLES_FILE.write_bytes(orjson.dumps(s.__dict__, default=sorted))
                left = (end - now) / 60
                rss = {k: v[-1][1] for k, v in s.rss.items()}
                progress.step(
                    f"{left:.0f} min left; RSS MB "
                    + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rss.items()))
                )
            if now >= next_page:
                nurse.view(s, t0)
                next_page += PAGE_EVERY_S
            time.sleep(0.5)
        nurse.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        tmp.cleanup()
    return s


def figures(s: Samples, minutes: float) -> list[Figure]:
    warm_s = min(600.0, minutes * 60 / 4)
    full = minutes >= GOAL_MINUTES
    out: list[Figure] = []
    for name in [*PARTS.values(), "supervisor"]:
        points = [p for p in s.rss.get(name, []) if p[0] >= warm_s]
        if not points:
            out.append(Figure(f"{name}: not seen running", 0, "MB/hour", "running", False))
            continue
        slope = slope_per_hour(points)
        out.append(
            Figure(
                f"{name}: RSS slope after warm-up",
                round(slope, 2),
                "MB/hour",
                f"< {GOAL_MB_PER_HOUR:g} at a {GOAL_MINUTES:g}-minute run",
                (slope < GOAL_MB_PER_HOUR) if full else None,
                baseline=round(points[0][1], 1),
                baseline_name="RSS at the end of the warm-up (MB)",
            )
        )
    for label in ("replica", "simulated EHR"):
        points = [p for p in s.disk.get(label, []) if p[0] >= warm_s]
        out.append(
            Figure(
                f"{label}: growth on disk (file + WAL)",
                round(slope_per_hour(points), 2),
                "MB/hour",
                "- (what a day of changes costs)",
                None,
                baseline=round(points[0][1], 1) if points else None,
                baseline_name="size at the end of the warm-up (MB)",
            )
        )
    ms = [m for t, m in s.pages_ms if t >= warm_s] or [m for _t, m in s.pages_ms]
    if ms:
        out.append(
            Figure("viewer page p50 while all runs", round(percentile(ms, 50), 1), "ms", "-", None)
        )
        out.append(
            Figure("viewer page p95 while all runs", round(percentile(ms, 95), 1), "ms", "-", None)
        )
    out.append(
        Figure("viewer pages not answered 200", s.page_errors, "pages", "0", s.page_errors == 0)
    )
    restarts = sum(max(0, len(p) - 1) for p in s.pids.values())
    out.append(
        Figure("processes restarted by the supervisor", restarts, "restarts", "0", restarts == 0)
    )
    return out


@benchmark("soak")
def bench_soak(scale: float, progress: Progress) -> list[Figure]:
    minutes = progress.minutes or 10.0 * scale
    return figures(soak(BEDS, minutes, progress), minutes)
