"""Slow clients cannot take the viewer down: 1,200 connections holding half a request
head (from one address) and a request announcing a huge body leave `/healthz` answering.

The server runs as `standby serve` in a process with the open-files limit of a typical
service (1,024, systemd's default), where the attack once made it unreachable."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

FILES_LIMIT = 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILES_LIMIT, FILES_LIMIT))


def _healthz(base: str, timeout: float) -> int | None:
    try:
        return httpx.get(base + "/healthz", timeout=timeout).status_code
    except httpx.HTTPError:
        return None


@contextlib.contextmanager
def _serve(tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, "STANDBY_DB": str(tmp_path / "s.db"), "STANDBY_PORT": str(port)}
    env.pop("STANDBY_SOURCE_URL", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-c", "from standby.cli.main import main; main()"),
            *("serve", "--no-monitor"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_files,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if _healthz(base, 2) == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        yield base, port
    finally:
        proc.terminate()
        proc.wait(30)


def _attack(port: int, n: int) -> list[socket.socket]:
    held = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /status HTTP/1.1\r\nHost: standby\r\nX-Slow: ")
        except OSError:
            s.close()
            continue
        held.append(s)
    return held


def test_partial_heads_and_a_huge_body_leave_healthz_answering(tmp_path: Path) -> None:
    with _serve(tmp_path) as (base, port):
        held = _attack(port, 1200)
        try:
            huge = socket.create_connection(("127.0.0.1", port), timeout=60)
            huge.sendall(
                b"POST /login HTTP/1.1\r\nHost: standby\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000000000000\r\n\r\nusername=a"
            )
            health = _healthz(base, 30)
            try:
                answer = huge.recv(200)
            except OSError:  # timed out, or reset
                answer = b""
            huge.close()
            assert health == 200, "the viewer stopped answering"
            assert answer.startswith(b"HTTP/1.1 413"), answer
        finally:
            for s in held:
                s.close()


def test_a_head_or_a_body_that_never_ends_is_cut_off(mini_site: Any) -> None:
    from support.web_server import served

    settings = mini_site.settings.model_copy(
        update={"web_header_timeout_seconds": 0.5, "web_body_timeout_seconds": 0.5}
    )
    with served(settings, mini_site.app) as base:
        port = int(base.rsplit(":", 1)[1])
        head = socket.create_connection(("127.0.0.1", port), timeout=60)
        head.sendall(b"GET /status HTTP/1.1\r\nHost: standby\r\nX-Slow: ")
        body = socket.create_connection(("127.0.0.1", port), timeout=60)
        body.sendall(
            b"POST /login HTTP/1.1\r\nHost: standby\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\nusername=a"
        )
        with contextlib.suppress(ConnectionResetError):  # closed (or reset), unanswered
            assert head.recv(100) == b""
        assert body.recv(200).startswith(b"HTTP/1.1 408")
        head.close()
        body.close()
