"""Throwaway PostgreSQL servers for the scale-out tests: a primary and a hot standby that
streams from it (`pg_basebackup -R`), started with the installed `initdb`/`pg_ctl` on free
ports of 127.0.0.1, trust authentication, in a temporary directory removed afterwards.

PostgreSQL refuses to run as root: under root (as in CI) every server command runs as the
`postgres` user through `runuser`. Skips with the reason when the binaries or that user
are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

STANDBY_NAME = "standby1"  # the standby's application_name, named by synchronous_standby_names


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pytest.skip("PostgreSQL's initdb is not installed (looked in /usr/lib/postgresql/*/bin)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@dataclass
class Pair:
    """A primary and its streaming standby. `synchronous`: the primary acknowledges a
    commit only once the standby has applied it (`remote_apply`)."""

    bin: Path
    root: Path
    synchronous: bool
    primary: Server = field(init=False)
    standby: Server = field(init=False)

    def run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def url(self, *, writer: bool) -> str:
        """Both servers in one libpq URL: the writer's only ever connects to the one that
        takes writes; the viewer's to the first that answers."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        attrs = "read-write" if writer else "any"
        return f"postgresql://postgres@{hosts}/postgres?target_session_attrs={attrs}"

    def start(self) -> None:
        self.primary = Server(self.root / "primary", _free_port(), self.root / "primary.log")
        self.standby = Server(self.root / "standby", _free_port(), self.root / "standby.log")
        self.run("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust", "-N")
        conf = [
            f"port = {self.primary.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.root}'",
            "wal_level = replica",
            "max_wal_senders = 5",
            "fsync = off",  # the tests stop servers, they do not pull the power
        ]
        if self.synchronous:
            conf += [
                f"synchronous_standby_names = '{STANDBY_NAME}'",
                "synchronous_commit = remote_apply",
            ]
        with (self.primary.data / "postgresql.conf").open("a") as f:
            f.write("\n".join(conf) + "\n")
        self.start_server(self.primary)
        self.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
            *("-D", str(self.standby.data), "-R", "-X", "stream"),
        )
        with (self.standby.data / "postgresql.conf").open("a") as f:
            f.write(f"port = {self.standby.port}\n")
        # -R wrote standby.signal and a primary_conninfo; this one (later in the file that
        # is read last) names the standby as synchronous_standby_names does
        with (self.standby.data / "postgresql.auto.conf").open("a") as f:
            f.write(
                f"primary_conninfo = 'host=127.0.0.1 port={self.primary.port} user=postgres"
                f" application_name={STANDBY_NAME}'\n"
            )
        self.start_server(self.standby)
        self.wait_streaming("sync" if self.synchronous else "async")

    def wait_streaming(self, state: str) -> None:
        """Until the primary sees the standby streaming in `state` (it connects after it
        starts)."""
        deadline = time.monotonic() + 60
        found = None
        while time.monotonic() < deadline:
            with psycopg.connect(self.primary.url, autocommit=True) as conn:
                found = conn.execute(
                    "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s",
                    (STANDBY_NAME,),
                ).fetchone()
            if found == ("streaming", state):
                return
            time.sleep(0.1)
        raise AssertionError(f"the standby is not streaming ({state}): {found}")

    def wait_replayed(self) -> None:
        """Until the standby has replayed everything the primary has written so far (an
        asynchronous standby may lag: what it has not received is not on it)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with psycopg.connect(self.primary.url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT replay_lsn >= pg_current_wal_lsn() FROM pg_stat_replication"
                    " WHERE application_name = %s",
                    (STANDBY_NAME,),
                ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
        raise AssertionError("the standby did not catch up with the primary")

    def start_server(self, server: Server) -> None:
        self.run("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", "start")

    def stop(self, server: Server) -> None:
        """Stop at once, as a crash or a lost machine would (no shutdown checkpoint)."""
        self.run("pg_ctl", "-D", str(server.data), "-m", "immediate", "stop")

    def promote(self) -> None:
        """Promote the standby, then stop it waiting for a synchronous standby of its own
        (it has none: its settings are the old primary's copy, and every commit would hang).
        The operator's two steps in docs/postgresql.md."""
        self.run("pg_ctl", "-D", str(self.standby.data), "-w", "promote")
        with psycopg.connect(self.standby.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
            conn.execute("SELECT pg_reload_conf()")

    def close(self) -> None:
        for server in (self.primary, self.standby):
            if (server.data / "postmaster.pid").exists():
                with suppress(subprocess.CalledProcessError):
                    self.stop(server)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def streaming_pair(*, synchronous: bool = True) -> Iterator[Pair]:
    """A started primary and standby; both stopped and removed afterwards."""
    bin_dir = _bin_dir()
    if os.geteuid() == 0:
        try:
            pg = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
        if not shutil.which("runuser"):
            pytest.skip("running as root and runuser is missing (PostgreSQL refuses root)")
    root = Path(tempfile.mkdtemp(prefix="standby-pg-pair-"))
    if os.geteuid() == 0:
        os.chown(root, pg.pw_uid, pg.pw_gid)
    root.chmod(0o700)
    pair = Pair(bin_dir, root, synchronous)
    try:
        pair.start()
        yield pair
    finally:
        pair.close()
