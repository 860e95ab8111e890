"""Scale-out on PostgreSQL (docs/postgresql.md): two `standby serve` processes and one
`standby sync` process against one database. The sync writes; both viewers, each with
its own connections, show what it wrote."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.settings import Settings
from standby.sim.server import Faults, create_app
from support.sim_server_support import small_store
from support.web_server import served
from support.web_site import PASSWORD, _pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
STANDBY = (sys.executable, "-c", "from standby.cli.main import main; main()")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(base: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _signed_in(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = c.post(
        "/login",
        data={"username": "reg.a", "password": PASSWORD, "csrf_token": token[1], "next": "/"},
    )
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
def database() -> Iterator[str]:
    with _pg_database("nodes") as url:
        yield url


def test_two_viewers_show_what_the_one_sync_wrote(database: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STANDBY_DATABASE_URL": database,
        "STANDBY_SECRET_KEY_FILE": str(tmp_path / "web.secret"),
    }
    env.pop("STANDBY_SOURCE_URL", None)
    added = CliRunner().invoke(
        app,
        ["user", "add", "reg.a", "--role", "registrar", "--unit", "*", "--password-stdin"],
        input=PASSWORD + "\n",
        env={"STANDBY_DATABASE_URL": database},
    )
    assert added.exit_code == 0, added.output
    ehr = small_store(tmp_path)
    with ExitStack() as stack:
        stack.callback(ehr.close)
        bases = []
        for _ in range(2):
            port = _free_port()
            node = subprocess.Popen(
                [*STANDBY, "serve", "--no-monitor", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(node.wait, 30)
            stack.callback(node.terminate)
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            assert _answers(base), f"{base} did not answer"
        viewers = [_signed_in(base) for base in bases]
        for v in viewers:
            stack.callback(v.close)
        for v in viewers:
            before = v.get("/search", params={"q": "Family0"})
            assert before.status_code == 200, before.text
            assert "MRN0" not in before.text

        source = stack.enter_context(served(Settings(), create_app(ehr, faults=Faults(seed=1))))
        sync = subprocess.run(
            [*STANDBY, "sync", "--source", source, "--once"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert sync.returncode == 0, sync.stderr.decode()[-2000:]

        for v in viewers:
            page = v.get("/search", params={"q": "Family0"})
            assert page.status_code == 200, page.text
            assert "MRN0" in page.text
