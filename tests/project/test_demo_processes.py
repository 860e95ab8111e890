"""The demo's parts run as separate processes: one that dies is named and restarted (or the
demo stops when it keeps dying); stopping the demo, even killing it outright, leaves none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from standby.cli.demo_processes import Supervisor, standby_argv, stop_processes
from support.monitor_receivers import free_port


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def until(what: str, ok: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.2)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_part_that_dies_is_named_with_its_log_and_restarted(tmp_path: Path) -> None:
    said: list[str] = []
    sup = Supervisor(os.environ, tmp_path, said.append, max_restarts=1)
    part = sup.start("sync", py("import sys; print('cannot reach the EHR'); sys.exit(3)"), "sync")
    assert part.proc is not None
    part.proc.wait()
    first = part.pid
    assert sup.check()  # restarted once
    assert "The sync process" in said[0] and "exit code 3" in said[0]
    assert "cannot reach the EHR" in said[0] and str(tmp_path / "sync.log") in said[0]
    assert said[1] == "Restarting the sync ..."
    assert part.pid != first
    assert part.proc is not None
    part.proc.wait()
    assert not sup.check()  # a second death within the window: the demo stops
    assert sup.failed and "sync stopped 2 times" in sup.failed
    sup.stop_all()


def test_a_killed_part_is_named_by_its_signal(tmp_path: Path) -> None:
    said: list[str] = []
    sup = Supervisor(os.environ, tmp_path, said.append)
    part = sup.start("viewer", py("import time; time.sleep(600)"), "viewer")
    assert part.proc is not None
    part.proc.kill()
    part.proc.wait()
    assert sup.check()
    assert "killed by SIGKILL" in said[0]
    assert part.alive()
    sup.stop_all()
    assert not part.alive()


def test_stop_all_stops_even_a_part_that_ignores_ctrl_c(tmp_path: Path) -> None:
    sup = Supervisor(os.environ, tmp_path, lambda _t: None)
    polite = sup.start("monitor", py("import time; time.sleep(600)"), "monitor")
    stubborn = sup.start(
        "packets",
        py(
            "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "print('ignoring', flush=True); time.sleep(600)"
        ),
        "packets",
    )
    until("Ctrl-C to be ignored", lambda: "ignoring" in stubborn.tail())
    sup.stop_all(grace_s=1)
    assert not polite.alive() and not stubborn.alive()
    assert stubborn.proc is not None and stubborn.proc.returncode == -signal.SIGTERM


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_supervisor_killed_outright_takes_its_parts_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "part.pid"
    supervisor = subprocess.Popen(
        py(
            "import os, sys, time\n"
            "from standby.cli.demo_processes import Supervisor\n"
            f"sup = Supervisor(os.environ, __import__('pathlib').Path({str(tmp_path)!r}), print)\n"
            "p = sup.start('sync', [sys.executable, '-c', 'import time; time.sleep(600)'], 's')\n"
            f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
            "time.sleep(600)\n"
        )
    )
    until("the part to start", lambda: pid_file.exists() and pid_file.read_text() != "")
    part = int(pid_file.read_text())
    assert not gone(part)
    supervisor.kill()
    supervisor.wait()
    until("the part to die with its supervisor", lambda: gone(part))


def test_stop_processes_with_nothing_running_returns() -> None:
    stop_processes([None])


@pytest.mark.slow
def test_the_demo_runs_its_parts_apart_restarts_one_and_stops_them_all(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDBY_")} | {
        "STANDBY_DB_ENCRYPTION": "off",
        "STANDBY_SYNC_INTERVAL_SECONDS": "2",
    }
    directory = tmp_path / "demo"
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [
                *standby_argv("demo", "--dir", str(directory), "--beds", "12"),
                *("--port", str(port), "--ehr-port", "0", "--change-rate", "2"),
                *("--hl7-port", "0"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        until("the welcome", lambda: "Stop with Ctrl-C" in log.read_text(), 600)
        parts = {" ".join(c.cmdline()[3:5]): c for c in psutil.Process(demo.pid).children()}
        assert {
            "sim serve",
            "sync --watch",
            "monitor run",
            "report --watch",
            "serve --no-monitor",
            "hl7 listen",
        } <= set(parts), parts
        assert httpx.get(f"http://127.0.0.1:{port}/status", timeout=10).status_code == 200
        sync = parts["sync --watch"]
        sync.kill()
        until("the sync to be restarted", lambda: "Restarting the sync" in log.read_text())
        assert f"The sync process (pid {sync.pid}) stopped (killed by SIGKILL)" in " ".join(
            log.read_text().split()
        )
        everyone = [c.pid for c in psutil.Process(demo.pid).children()]
        assert len(everyone) == 6  # the five above and the HL7 v2 listener
        assert json.loads((directory / "demo.json").read_text())["ehr_admin"]
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(120)
    assert all(gone(pid) for pid in everyone)
    assert not (directory / "demo.json").exists()
