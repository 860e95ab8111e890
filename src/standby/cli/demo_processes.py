"""The demo's parts as separate OS processes, supervised, as a deployment runs them.

Each part (the simulated EHR, `standby sync --watch`, the monitor, packet regeneration,
`standby serve`) is a `standby` command in its own process, in its own session so that a
Ctrl-C in the terminal reaches only the supervisor, which then stops the parts in order
(viewer first, the simulated EHR last). On Linux a part also dies with the supervisor if
the supervisor is killed outright (PR_SET_PDEATHSIG), so no part is ever left orphaned.

A part that exits on its own is named with its exit code and the last lines of its log,
then restarted; one that dies `max_restarts` times within `window_s` stops the demo.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


def standby_argv(*args: str) -> list[str]:
    """A `standby` command run by this interpreter (the same installation as the demo)."""
    return [sys.executable, "-c", "from standby.cli.main import main; main()", *args]


def _die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            pr_set_pdeathsig = 1
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before the line above took effect
            os._exit(1)

    return preexec


@dataclass
class Part:
    """One supervised process: its name as the demo prints it, its command and log."""

    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    deaths: list[float] = field(default_factory=list)
    started_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 8) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


class Supervisor:
    """Starts parts, notices when one exits, restarts it or gives up, and stops them all."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        say: Callable[[str], None],
        *,
        max_restarts: int = 3,
        window_s: float = 300.0,
    ) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.say = say
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.parts: list[Part] = []
        self.failed: str | None = None  # why the demo stopped, when a part kept dying

    def start(self, name: str, argv: list[str], log_name: str) -> Part:
        part = Part(name, argv, self.log_dir / f"{log_name}.log")
        self.parts.append(part)
        self._spawn(part)
        return part

    def _spawn(self, part: Part) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(part.log, "ab") as log:
            part.proc = subprocess.Popen(
                part.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
                preexec_fn=_die_with_parent(os.getpid()),
            )
        part.started_at = time.monotonic()

    def check(self) -> bool:
        """Restart the parts that exited; False when one died too often (demo must stop)."""
        for part in self.parts:
            if part.proc is None or part.proc.poll() is None:
                continue
            code = part.proc.returncode
            now = time.monotonic()
            part.deaths = [t for t in part.deaths if now - t < self.window_s] + [now]
            self.say(
                f"The {part.name} process (pid {part.proc.pid}) stopped ({describe_exit(code)}). "
                f"Its log, {part.log}, ends:\n{part.tail()}"
            )
            if len(part.deaths) > self.max_restarts:
                self.failed = (
                    f"the {part.name} stopped {len(part.deaths)} times within "
                    f"{self.window_s / 60:g} minutes"
                )
                self.say(f"Stopping the demo: {self.failed}.")
                return False
            self.say(f"Restarting the {part.name} ...")
            self._spawn(part)
        return True

    def run(self, until: Callable[[], bool], poll_s: float = 1.0) -> None:
        """Watch the parts until `until()` is true or one keeps dying."""
        while not until():
            if not self.check():
                return
            time.sleep(poll_s)

    def stop_all(self, grace_s: float = 15.0) -> None:
        """Stop every part, the last started first: SIGINT, then SIGTERM, then SIGKILL."""
        stop_processes([p.proc for p in reversed(self.parts)], grace_s)


def stop_process(proc: subprocess.Popen[bytes] | None, grace_s: float = 15.0) -> None:
    stop_processes([proc], grace_s)


def stop_processes(procs: list[subprocess.Popen[bytes] | None], grace_s: float = 15.0) -> None:
    """Ask all to stop at once (SIGINT, as Ctrl-C), then insist: SIGTERM, SIGKILL."""
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        running = [p for p in procs if p is not None and p.poll() is None]
        if not running:
            return
        for p in running:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(sig)
        deadline = time.monotonic() + wait
        for p in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.0, deadline - time.monotonic()))


def describe_exit(code: int) -> str:
    """`exit code 1`, or `killed by SIGKILL` for a negative return code."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
