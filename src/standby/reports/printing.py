"""Sending packets to a printer through CUPS (`lp`), for a unit's configured printer.

`lp_argv` builds the command (tested without a printer); `print_files` runs it for each
file. A missing `lp` or a refused job raises `PrintError` naming the printer and file.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


class PrintError(RuntimeError):
    pass


def lp_argv(
    printer: str, path: Path | str, *, copies: int = 1, title: str | None = None, lp: str = "lp"
) -> list[str]:
    """`lp -d <printer> -n <copies> -t <title> -o sides=one-sided <file>`."""
    if not printer or printer.startswith("-"):
        raise PrintError(f"not a printer name: {printer!r}")
    argv = [lp, "-d", printer, "-n", str(copies), "-o", "sides=one-sided"]
    if title:
        argv += ["-t", title]
    argv.append(str(path))
    return argv


def print_files(
    printer: str, paths: Sequence[Path], *, copies: int = 1, timeout: float = 60.0
) -> list[list[str]]:
    """Send each file to `printer`; returns the argv of each command run."""
    lp = shutil.which("lp")
    if lp is None:
        raise PrintError("`lp` (CUPS) is not installed on this machine")
    done = []
    for path in paths:
        argv = lp_argv(
            printer, path, copies=copies, title=f"Standby {path.parent.name} {path.name}", lp=lp
        )
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise PrintError(
                f"lp to {printer} failed for {path.name}: "
                f"{(proc.stderr or proc.stdout).strip()[:200]}"
            )
        done.append(argv)
    return done
