"""`standby serve --workers 2`: two processes on one port (SO_REUSEPORT), a dead worker
started again, and SIGTERM stopping them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workers(parent: psutil.Process, n: int, timeout: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [
            k for k in parent.children() if "spawn_main" in " ".join(k.cmdline()) and k.is_running()
        ]
        if len(kids) == n:
            return kids
        time.sleep(0.2)
    raise AssertionError(f"expected {n} workers, found {parent.children()}")


def _answers(base: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def test_two_workers_share_the_port_restart_and_stop(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "STANDBY_DB": str(tmp_path / "w.db"), "STANDBY_PORT": str(port)}
    env.pop("STANDBY_SOURCE_URL", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-c", "from standby.cli.main import main; main()"),
            *("serve", "--no-monitor", "--workers", "2"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _answers(base), "the server did not answer"
        parent = psutil.Process(proc.pid)
        first = _workers(parent, 2)
        # every worker listens on the port itself (not one socket shared by inheritance)
        for w in first:
            ports = {c.laddr.port for c in w.net_connections(kind="tcp") if c.status == "LISTEN"}
            assert port in ports
        first[0].kill()
        first[0].wait(10)
        again = _workers(parent, 2)
        assert first[0].pid not in {w.pid for w in again}
        assert _answers(base)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.returncode == 0
        for w in again:
            assert not w.is_running() or w.status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
