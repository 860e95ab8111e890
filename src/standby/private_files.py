"""Files and folders that only their owner can read: 0600 and 0700, whatever the umask.

A node holds patients' records (the replica, its WAL, the packets) and keys. Every file
or folder Standby creates for them goes through here, so that a permissive umask (0o000,
0o022) or a shared machine never makes them readable by another local user
(docs/security.md). Existing folders we did not create (a working directory, /tmp) are
left as they are; files we write are always narrowed to 0600.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path | str) -> Path:
    """Create `path` and any missing parents, each new one 0700; return it. An existing
    folder keeps its mode unless Standby made it (then it is narrowed to 0700 again)."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, DIR_MODE)
            os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask, never widened
    return path


def narrow(path: Path | str) -> None:
    """Make an existing file Standby owns 0600 (a replica created by an older version)."""
    with contextlib.suppress(FileNotFoundError):
        if os.stat(path).st_mode & 0o777 != FILE_MODE:
            os.chmod(path, FILE_MODE)


def create_private_file(path: Path | str, *, exclusive: bool = False) -> None:
    """Make sure `path` exists as a 0600 file (empty if new); with `exclusive`, fail with
    FileExistsError when it already exists (never overwrite a key)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private_bytes(path: Path | str, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` (0600) so that a reader sees the old content or the new, never
    part: a temp file beside it, fsync, rename. With `exclusive`, an existing `path` is an
    error (FileExistsError) and it is created in place instead."""
    path = Path(path)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        _write_fd(fd, data)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        _write_fd(fd, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_fd(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
