"""`standby serve --workers 2` on an encrypted replica: every worker opens it with the key
from STANDBY_DB_KEY_FILE and a clinician logs in; without the key, serve stops before any
worker starts, with a message naming the setting (docs/security.md)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.store.encryption import is_encrypted

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-battery-staple-7391"
SERVE = (sys.executable, "-c", "from standby.cli.main import main; main()", "serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.fixture
def encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key_file = tmp_path / "keys" / "replica.key"
    db = tmp_path / "replica.db"
    env = {"STANDBY_DB_ENCRYPTION": "on", "STANDBY_DB_KEY_FILE": str(key_file)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(app, ["keys", "create", str(key_file)]).exit_code == 0
    r = CliRunner().invoke(
        app,
        ["user", "add", "admin.lee", "--role", "admin", "--unit", "*", "--password-stdin"],
        input=PASSWORD + "\n",
        env={"STANDBY_DB": str(db)},
    )
    assert r.exit_code == 0, r.output
    assert is_encrypted(db) is True
    return {**env, "STANDBY_DB": str(db)}


def test_two_workers_serve_an_encrypted_replica(encrypted: dict[str, str]) -> None:
    port = _free_port()
    env = {**os.environ, **encrypted, "STANDBY_PORT": str(port)}
    env.pop("STANDBY_SOURCE_URL", None)
    proc = subprocess.Popen(
        [*SERVE, "--no-monitor", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _answers(base), "the server did not answer"
        with httpx.Client(base_url=base) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, page.text
            r = c.post(
                "/login",
                data={
                    "username": "admin.lee",
                    "password": PASSWORD,
                    "csrf_token": token.group(1),
                    "next": "/",
                },
            )
            assert r.status_code == 303, r.text
            for _ in range(6):  # new connections: the kernel spreads them over both workers
                with httpx.Client(base_url=base, cookies=c.cookies) as again:
                    page = again.get("/admin/users", follow_redirects=True)
                    assert page.status_code == 200 and "/login" not in str(page.url)
                    assert "admin.lee" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_serve_without_the_key_stops_and_names_the_setting(encrypted: dict[str, str]) -> None:
    env = {**os.environ, **encrypted, "STANDBY_PORT": str(_free_port())}
    env.pop("STANDBY_DB_KEY_FILE")
    env.pop("STANDBY_SOURCE_URL", None)
    done = subprocess.run(
        [*SERVE, "--no-monitor", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "encrypted: give its key with STANDBY_DB_KEY_FILE" in done.stderr
    assert "Traceback" not in done.stderr
