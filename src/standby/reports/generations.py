"""The folders of the packets: generations written under a temp name, committed by
rename, the newest published by hard link (the layout: `standby.reports.regeneration`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from standby.private_files import narrow, private_dir, write_private_bytes
from standby.reports import render


@dataclass
class FileEntry:
    name: str
    pages: int
    bytes: int


RESERVED = frozenset({"schedules", "manifest.json", "generations"})


def unit_folder(unit_id: str) -> str:
    """The folder of a unit's packets, from its Location id: ids are unique in the EHR,
    while aliases and names repeat, may be empty or not Latin (the display name is in
    the folder's manifest.json). Lower-case ASCII letters, digits, "-" and "_" only; where
    that changes the id, or would be a name of ours, 8 hex digits of the id's hash follow,
    so two ids never share a folder, even on a disk that ignores case (a Mac), and no
    folder is ".", ".." or outside the output folder."""
    name = re.sub(r"[^a-z0-9-]+", "_", unit_id.lower())
    if name != unit_id or name in RESERVED:
        digest = hashlib.sha256(unit_id.encode()).hexdigest()[:8]
        name = f"{name.strip('_') or 'unit'}-{digest}"
    return name


def _unit_dir(out_dir: Path, unit_id: str) -> Path:
    folder = out_dir / unit_folder(unit_id)
    if folder.resolve().parent != out_dir.resolve():  # a symlink planted in the folder
        raise OSError(f"{folder} is not a folder directly inside {out_dir}")
    return folder


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old content or the new, never part."""
    write_private_bytes(path, data)  # 0600: packets carry patients' records


def _publish(src: Path, dst: Path) -> None:
    """Make `dst` the file `src` atomically (hard link + rename; copy if links fail)."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
        narrow(tmp)
    os.replace(tmp, dst)


class _Generation:
    """One folder's new generation: written under a temp name, committed by rename."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.gens = folder / "generations"
        private_dir(self.gens)
        self.name = name
        self.tmp = self.gens / f".tmp-{name}-{os.getpid()}"
        private_dir(self.tmp)
        self.files: list[FileEntry] = []

    def write(self, name: str, pdf: render.PDF) -> None:
        write_atomic(self.tmp / name, pdf)
        self.files.append(FileEntry(name, pdf.pages, len(pdf)))

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def commit(self, keep: int, *, join: bool = False) -> Path:
        """Rename into place and publish. `join`: add the files to the generation of the
        same name already committed (a declaration's census and MARs went out first)."""
        final = self.gens / self.name
        if join and final.is_dir():
            for f in self.files:
                os.replace(self.tmp / f.name, final / f.name)
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            if final.exists():  # same second twice: keep the newer
                shutil.rmtree(final)
            os.replace(self.tmp, final)
        for f in self.files:
            _publish(final / f.name, self.folder / f.name)
        prune(self.gens, keep)
        return final


def prune(gens: Path, keep: int, stale_tmp_seconds: float = 3600.0) -> None:
    """Keep the newest `keep` generations; remove leftovers of killed runs."""
    done = sorted(p for p in gens.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(0, len(done) - max(1, keep))]:
        shutil.rmtree(old, ignore_errors=True)
    now = time.time()
    for tmp in gens.glob(".tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        alive = pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid))
        if not alive or now - tmp.stat().st_mtime > stale_tmp_seconds:
            shutil.rmtree(tmp, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    """Whether `pid` runs. A zombie does not: a killed generator's worker that nothing
    reaped (in a container whose first process reaps no orphans) is dead, not writing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): the signal's answer stands
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
