"""Packets ahead of time: regenerate every unit's packet set every N minutes, atomically.

Layout under `out_dir` (docs/reports.md):

    manifest.json                       what was generated when, from which data-as-of
    <unit>/census.pdf, packets.pdf, mar.pdf, forms.pdf, labels.pdf   the newest set
    <unit>/manifest.json                 which unit (id, alias, name) and generation
    <unit>/generations/<stamp>/...       the last K sets (the newest included)

`<unit>` is the unit's Location id (`unit_folder`), never its alias or name.
    schedules/or.pdf, clinics.pdf        today's and tomorrow's, hospital-wide
    schedules/generations/<stamp>/...

A generation is written into `generations/.tmp-<stamp>-<pid>/` (each file: temp name, then
`os.replace`), renamed to `generations/<stamp>/` when complete, and only then are the
unit's top-level files replaced — each by `os.replace` of a hard link, so a reader sees
the old file or the new one, never half of one. A generator killed mid-run leaves the
previous generation and the top-level files intact; its `.tmp-*` directory is removed by
the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standby.clinical.census import Unit, unit_census_and_summaries, units
from standby.clinical.schedules import clinic_schedule, or_schedule
from standby.clock import instant
from standby.fhir.display import parse_instant
from standby.fhir.mar import charting_cutoff
from standby.fhir.timing import StandardTimes
from standby.private_files import narrow, private_dir, write_private_bytes
from standby.reports import render
from standby.reports.pages import Furniture
from standby.reports.printing import print_files
from standby.store.base import Store

DEFAULT_KEEP = 4
UNIT_FILES = ("census.pdf", "mar.pdf", "packets.pdf", "forms.pdf", "labels.pdf")
PRINT_FILES = ("census.pdf", "mar.pdf")


@dataclass
class FileEntry:
    name: str
    pages: int
    bytes: int


@dataclass
class UnitEntry:
    unit_id: str
    unit: str
    folder: str
    generation: str
    patients: int
    files: list[FileEntry] = field(default_factory=list)
    printed: list[list[str]] = field(default_factory=list)  # argv of each lp command run
    error: str | None = None
    name: str = ""  # "4W — 4 West Medical"


@dataclass
class Manifest:
    generated_at: str
    data_as_of: str | None
    banner: str | None
    seconds: float = 0.0
    pages: int = 0
    units: list[UnitEntry] = field(default_factory=list)
    schedules: list[FileEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        bad = (
            f", {len(self.errors)} error(s): {'; '.join(self.errors)[:200]}" if self.errors else ""
        )
        return (
            f"packets for {len(self.units)} unit(s), {self.pages} pages in "
            f"{self.seconds:.1f} s (data as of {self.data_as_of or 'unknown'}){bad}"
        )


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


def _as_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_instant(value)
    return None


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

    def commit(self, keep: int) -> Path:
        final = self.gens / self.name
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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def generate_unit(
    store: Store,
    unit: Unit,
    out_dir: Path,
    now: datetime,
    furniture: Furniture,
    *,
    keep: int = DEFAULT_KEEP,
    printer: str | None = None,
    standard_times: StandardTimes | None = None,
) -> UnitEntry:
    """One unit's packet set (UNIT_FILES), committed as a new generation."""
    folder = _unit_dir(out_dir, unit.id)
    census, summaries = unit_census_and_summaries(
        store,
        unit.id,
        now,
        charted_until=furniture.charted_until,
        standard_times=standard_times,
    )
    f = replace(furniture, unit=unit.alias)
    gen = _Generation(folder, stamp(now))
    try:
        gen.write("census.pdf", render.census_pdf(census, f))
        gen.write("mar.pdf", render.mars_pdf(summaries, f))
        gen.write("packets.pdf", render.packets_pdf(summaries, f))
        gen.write("forms.pdf", render.forms_pdf(summaries, f))
        gen.write("labels.pdf", render.labels_pdf(unit.id, summaries, f))
    except BaseException:
        gen.abort()
        raise
    final = gen.commit(keep)
    entry = UnitEntry(
        unit.id, unit.alias, str(folder), final.name, len(summaries), gen.files, name=unit.label
    )
    write_atomic(folder / "manifest.json", json.dumps(asdict(entry), indent=2).encode())
    if printer:
        entry.printed = print_files(printer, [folder / n for n in PRINT_FILES])
    return entry


def generate_schedules(
    store: Store, out_dir: Path, now: datetime, furniture: Furniture, *, keep: int = DEFAULT_KEEP
) -> list[FileEntry]:
    tz = now.tzinfo or UTC  # the hospital's days and clock
    today = now.date()
    days = [today, today + timedelta(days=1)]
    f = replace(furniture, unit="all")
    gen = _Generation(out_dir / "schedules", stamp(now))
    try:
        gen.write("or.pdf", render.or_pdf([or_schedule(store, d, tz) for d in days], f))
        gen.write(
            "clinics.pdf", render.clinics_pdf([clinic_schedule(store, d, tz) for d in days], f)
        )
    except BaseException:
        gen.abort()
        raise
    gen.commit(keep)
    return gen.files


def generate_all(
    store: Store,
    out_dir: Path | str,
    now: datetime,
    *,
    data_as_of: datetime | str | None,
    banner: str | None = None,
    downtime_since: datetime | None = None,
    unit_ids: Sequence[str] | None = None,
    keep: int = DEFAULT_KEEP,
    printers: Mapping[str, str] | None = None,
    print_all: str | None = None,
    schedules: bool = True,
    standard_times: StandardTimes | None = None,
) -> Manifest:
    """Every unit's packet set (or those named in `unit_ids`, by id or alias) and the
    schedules, each as a new generation, then `manifest.json`. A unit that fails is
    recorded in the manifest and the others still run. `data_as_of` is what every page
    says the data is as of: the caller passes `standby.sync.status.data_as_of(store)`
    (None prints "unknown"). `downtime_since`: when the current downtime was declared
    (None outside one): the MARs then say "not charted", never "overdue", for doses the
    EHR cannot have heard of (`standby.fhir.mar.charting_cutoff`). `printers` maps unit
    alias (or id) to a CUPS printer; `print_all` sends every unit to one printer.
    `standard_times`: the hospital's standard administration times (the setting
    `mar_standard_times`), which the MARs' dose times follow as the web's do."""
    started = time.perf_counter()
    out = Path(out_dir)
    private_dir(out)
    as_of = _as_of(data_as_of)
    f = Furniture(as_of, now, "", banner, charted_until=charting_cutoff(downtime_since, as_of))
    man = Manifest(instant(now), instant(as_of) if as_of else None, banner)
    wanted = set(unit_ids or [])
    all_units = units(store)
    known = {u.id for u in all_units} | {u.alias for u in all_units}
    for missing in sorted(wanted - known):
        man.errors.append(f"{missing}: no such care unit in the replica")
    for u in all_units:
        if wanted and u.id not in wanted and u.alias not in wanted:
            continue
        printer = print_all or (printers or {}).get(u.alias) or (printers or {}).get(u.id)
        try:
            entry = generate_unit(
                store, u, out, now, f, keep=keep, printer=printer, standard_times=standard_times
            )
        except Exception as e:  # one unit's failure must not cost the others their packets
            entry = UnitEntry(
                u.id,
                u.alias,
                str(out / unit_folder(u.id)),
                "",
                0,
                error=f"{type(e).__name__}: {e}",
            )
            man.errors.append(f"{u.alias}: {entry.error}")
        man.units.append(entry)
    if schedules and not wanted:
        try:
            man.schedules = generate_schedules(store, out, now, f, keep=keep)
        except Exception as e:
            man.errors.append(f"schedules: {type(e).__name__}: {e}")
    man.pages = sum(x.pages for u in man.units for x in u.files) + sum(
        x.pages for x in man.schedules
    )
    man.seconds = round(time.perf_counter() - started, 3)
    write_atomic(out / "manifest.json", json.dumps(man.as_json(), indent=2).encode())
    return man


def run_forever(
    store: Store,
    out_dir: Path | str,
    *,
    interval_minutes: float = 15.0,
    keep: int = DEFAULT_KEEP,
    data_as_of: Callable[[], datetime | str | None] = lambda: None,
    banner: Callable[[], str | None] = lambda: None,
    downtime_since: Callable[[], datetime | None] = lambda: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),  # in the hospital's zone
    stop: threading.Event | None = None,
    on_generated: Callable[[Manifest], None] | None = None,
    **kwargs: Any,
) -> None:
    """Regenerate every `interval_minutes` (fixed rate) until `stop` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        t0 = time.monotonic()
        man = generate_all(
            store,
            out_dir,
            clock(),
            data_as_of=data_as_of(),
            banner=banner(),
            downtime_since=downtime_since(),
            keep=keep,
            **kwargs,
        )
        if on_generated is not None:
            on_generated(man)
        kwargs.pop("print_all", None)  # print once, not every round
        kwargs.pop("printers", None)
        stop.wait(max(0.0, interval_minutes * 60 - (time.monotonic() - t0)))
