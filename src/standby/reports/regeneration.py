"""Packets ahead of time: regenerate every unit's packet set every N minutes, atomically.

Layout under `out_dir` (docs/reports.md):

    manifest.json                       what was generated when, from which data-as-of
    <unit>/census.pdf, packets.pdf, mar.pdf, forms.pdf, labels.pdf   the newest set
    <unit>/manifest.json                 which unit (id, alias, name) and generation
    <unit>/generations/<stamp>/...       the last K sets (the newest included)
    <unit>/drawn-pages.z                 the newest set's patient pages, for the next
                                         (`standby.reports.page_cache`)

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

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

from standby.clinical.census import Unit, unit_census_and_summaries, units
from standby.clinical.schedules import clinic_schedule, or_schedule
from standby.clock import instant
from standby.fhir.census import Census
from standby.fhir.display import parse_instant
from standby.fhir.mar import charting_cutoff
from standby.fhir.summary import PatientSummary
from standby.fhir.timing import StandardTimes
from standby.journal import repository as journal_repository
from standby.private_files import private_dir
from standby.reports import changes, page_cache, parallel, render, reuse
from standby.reports.generations import (
    FileEntry,
    _Generation,
    _unit_dir,
    prune,
    stamp,
    unit_folder,
    write_atomic,
)
from standby.reports.pages import Furniture
from standby.reports.printing import print_files
from standby.store.base import Store

DEFAULT_KEEP = 4
UNIT_FILES = ("census.pdf", "mar.pdf", "packets.pdf", "forms.pdf", "labels.pdf")
PRINT_FILES = ("census.pdf", "mar.pdf")
FIRST_FILES = ("census.pdf", "mar.pdf")  # what a declaration prints before anything else
Parts = Literal["all", "first", "rest"]
# a unit's census, its patients' summaries, and what its documents drew (the MARs)
UnitRead = tuple[Census, list[PatientSummary], reuse.UnitDrawing]

__all__ = ["UNIT_FILES", "generate_all", "prune", "run_forever", "unit_folder"]


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
    patient_ids: list[str] = field(default_factory=list)  # what the next round compares
    data_as_of: str | None = None  # what its pages say (a unit kept from an earlier round)
    # patients' pages (mar, packets, forms) drawn, and copied from its last generation
    drawn_pages: int = 0
    reused_pages: int = 0


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
    # incremental regeneration (standby.reports.changes): where this round started reading
    seq: int | None = None
    journal_seq: int = 0
    inputs: str = ""
    regenerated: list[str] | None = None  # unit ids redone this round; None: every unit
    first_seconds: float | None = None  # declaration: when every census and MAR was out
    reused_pages: int = 0  # patients' pages copied from the last generation (`page_cache`)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        bad = (
            f", {len(self.errors)} error(s): {'; '.join(self.errors)[:200]}" if self.errors else ""
        )
        redone = (
            "" if self.regenerated is None else f" ({len(self.regenerated)} changed unit(s) redone)"
        )
        first = (
            ""
            if self.first_seconds is None
            else f", every census and MAR in {self.first_seconds:.1f} s"
        )
        if self.reused_pages:
            redone += f", {self.reused_pages} unchanged patient page(s) reused"
        return (
            f"packets for {len(self.units)} unit(s){redone}, {self.pages} pages in "
            f"{self.seconds:.1f} s{first} (data as of {self.data_as_of or 'unknown'}){bad}"
        )


def _as_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_instant(value)
    return None


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
    parts: Parts = "all",
    read: UnitRead | None = None,
) -> UnitEntry:
    """One unit's packet set (UNIT_FILES), committed as a new generation. `parts`: "first"
    writes the census and MARs alone and commits them; "rest" then adds the other files to
    that same generation (a declaration's order). `read`: the unit's census and summaries
    as the "first" part read them, and the MARs it drew (`generate_unit_first`), so that
    "rest" prints the same snapshot without reading, summarising or drawing again."""
    return _generate_unit(
        store, unit, out_dir, now, furniture, keep, printer, standard_times, parts, read
    )[0]


def generate_unit_first(
    store: Store,
    unit: Unit,
    out_dir: Path,
    now: datetime,
    furniture: Furniture,
    *,
    keep: int = DEFAULT_KEEP,
    printer: str | None = None,
    standard_times: StandardTimes | None = None,
) -> tuple[UnitEntry, UnitRead]:
    """A declaration's first part of a unit (census and MARs), and what it read, for the
    rest (`generate_unit(parts="rest", read=...)`)."""
    return _generate_unit(
        store, unit, out_dir, now, furniture, keep, printer, standard_times, "first", None
    )


def _generate_unit(
    store: Store,
    unit: Unit,
    out_dir: Path,
    now: datetime,
    furniture: Furniture,
    keep: int,
    printer: str | None,
    standard_times: StandardTimes | None,
    parts: Parts,
    read: UnitRead | None,
) -> tuple[UnitEntry, UnitRead]:
    folder = _unit_dir(out_dir, unit.id)
    if read is None:
        census, summaries = unit_census_and_summaries(
            store,
            unit.id,
            now,
            charted_until=furniture.charted_until,
            standard_times=standard_times,
        )
        # the pages its last generation kept (`page_cache`): unchanged patients' are copied
        read = (census, summaries, reuse.UnitDrawing(kept=page_cache.read(folder)))
    census, summaries, drawing = read
    f = replace(furniture, unit=unit.alias)
    documents: dict[str, Callable[[], render.PDF]] = {
        "census.pdf": lambda: render.census_pdf(census, f),
        "mar.pdf": lambda: render.mars_pdf(summaries, f),
        "packets.pdf": lambda: render.packets_pdf(summaries, f),
        "forms.pdf": lambda: render.forms_pdf(summaries, f),
        "labels.pdf": lambda: render.labels_pdf(unit.id, summaries, f),
    }
    names = {
        "all": UNIT_FILES,
        "first": FIRST_FILES,
        "rest": tuple(n for n in UNIT_FILES if n not in FIRST_FILES),
    }[parts]
    gen = _Generation(folder, stamp(now))
    try:
        with reuse.unit_drawing(drawing):  # each MAR drawn once (`reuse`)
            for name in names:
                gen.write(name, documents[name]())
    except BaseException:
        gen.abort()
        raise
    final = gen.commit(keep, join=parts == "rest")
    if parts != "first":  # every patient page of this generation, for the next
        write_atomic(folder / page_cache.FILE, page_cache.encode(drawing.keep))
    earlier = _files_of(folder, final.name) if parts == "rest" else []
    entry = UnitEntry(
        unit.id,
        unit.alias,
        str(folder),
        final.name,
        len(summaries),
        [*earlier, *gen.files],
        name=unit.label,
        patient_ids=[b.patient.id for b in census.beds if b.patient is not None],
        data_as_of=instant(f.data_as_of) if f.data_as_of else None,
        drawn_pages=drawing.drawn_pages,
        reused_pages=drawing.reused_pages,
    )
    write_atomic(folder / "manifest.json", json.dumps(asdict(entry), indent=2).encode())
    if printer and parts != "rest":
        entry.printed = print_files(printer, [folder / n for n in PRINT_FILES])
    return entry, read


def _files_of(folder: Path, generation: str) -> list[FileEntry]:
    """The files already in the unit's manifest for `generation` (its census and MARs)."""
    try:
        old = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return []
    if old.get("generation") != generation:
        return []
    return [FileEntry(**x) for x in old.get("files") or [] if x.get("name") in FIRST_FILES]


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


# what a worker process runs: the same functions over its own connection to the replica
def _unit_in_worker(spec: parallel.StoreSpec, *args: Any, **kwargs: Any) -> UnitEntry:
    return generate_unit(parallel.worker_store(spec), *args, **kwargs)


def _first_in_worker(
    spec: parallel.StoreSpec, *args: Any, **kwargs: Any
) -> tuple[UnitEntry, UnitRead]:
    return generate_unit_first(parallel.worker_store(spec), *args, **kwargs)


def _schedules_in_worker(spec: parallel.StoreSpec, *args: Any, **kwargs: Any) -> list[FileEntry]:
    return generate_schedules(parallel.worker_store(spec), *args, **kwargs)


def _previous(out: Path) -> dict[str, Any] | None:
    try:
        got = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) else None


def _kept_entry(raw: Mapping[str, Any]) -> UnitEntry:
    known = set(UnitEntry.__dataclass_fields__)
    values = {k: v for k, v in raw.items() if k in known}
    values["files"] = [FileEntry(**x) for x in raw.get("files") or []]
    values["printed"] = []
    return UnitEntry(**values)


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
    workers: int | None = None,
    first: bool = False,
    changed_only: bool = False,
    edge: bool = False,
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
    `mar_standard_times`), which the MARs' dose times follow as the web's do.

    `workers`: processes generating units side by side (default: one per core; 1 runs
    everything in this process). `first`: every unit's census and MARs are written (and
    printed) before any other file — what a declaration needs first. `changed_only`:
    regenerate only the units whose patients changed since the last generation in
    `out_dir` (`standby.reports.changes`); the others keep their files. `edge`: this is
    an edge node (`standby.edge.upstream.edge_of`): every page's "data as of" says it is
    the central Standby's copy."""
    started = time.perf_counter()
    out = Path(out_dir)
    private_dir(out)
    as_of = _as_of(data_as_of)
    f = Furniture(
        as_of,
        now,
        "",
        banner,
        charted_until=charting_cutoff(downtime_since, as_of),
        edge=edge,
    )
    wanted = set(unit_ids or [])
    seq = store.last_seq()  # before any data is read: what lands meanwhile is seen next time
    inputs = changes.inputs_key(
        banner=banner,
        charted_until=f.charted_until,
        standard_times=standard_times,
        units=sorted(wanted),
        zone=str(now.tzinfo),
    )
    man = Manifest(
        instant(now),
        instant(as_of) if as_of else None,
        banner,
        seq=seq,
        journal_seq=journal_repository.last_seq(store),
        inputs=inputs,
    )
    all_units = units(store)
    known = {u.id for u in all_units} | {u.alias for u in all_units}
    for missing in sorted(wanted - known):
        man.errors.append(f"{missing}: no such care unit in the replica")
    chosen = [u for u in all_units if not wanted or u.id in wanted or u.alias in wanted]
    previous = _previous(out) if changed_only else None
    since = changes.read_since(previous) if seq is not None else None
    redo = None
    if since is not None:
        redo = changes.changed_units(store, since, inputs, [u.id for u in chosen], now)
    kept: dict[str, UnitEntry] = {}
    if redo is not None and previous is not None:
        kept = {str(u["unit_id"]): _kept_entry(u) for u in previous.get("units") or []}
        man.regenerated = sorted(redo & {u.id for u in chosen})
    todo = [u for u in chosen if redo is None or u.id in redo]
    spec = parallel.spec_of(store)
    # a worker costs a process and its imports (~0.6 CPU-seconds): one unit to draw (a
    # changed-only run's usual case) is drawn here, the schedules after it
    n = 1 if spec is None else min(workers or parallel.default_workers(), max(1, len(todo)))
    entries: dict[str, UnitEntry] = {}
    with parallel.executor(n) as pool:

        def submit(u: Unit, parts: Parts, read: UnitRead | None = None) -> Future[Any]:
            printer = print_all or (printers or {}).get(u.alias) or (printers or {}).get(u.id)
            kw: dict[str, Any] = {
                "keep": keep,
                "printer": printer,
                "standard_times": standard_times,
            }
            if parts == "first":  # returns what it read too, for the rest
                if spec is None or n == 1:
                    return pool.submit(partial(generate_unit_first, store, u, out, now, f, **kw))
                return pool.submit(partial(_first_in_worker, spec, u, out, now, f, **kw))
            kw.update(parts=parts, read=read)
            if spec is None or n == 1:
                return pool.submit(partial(generate_unit, store, u, out, now, f, **kw))
            return pool.submit(partial(_unit_in_worker, spec, u, out, now, f, **kw))

        running: dict[Future[UnitEntry], Unit] = {}
        if first:
            # every census and MAR out before any other file is begun; the rest of each
            # unit is printed from what its first part read (one read per unit)
            firsts = {submit(u, "first"): u for u in todo}
            reads: dict[str, UnitRead] = {}
            for fut in as_completed(firsts):
                u = firsts[fut]
                if fut.exception() is None:
                    entries[u.id], reads[u.id] = fut.result()
                else:
                    entries[u.id] = _entry_or_error(fut, u, out, man)
            man.first_seconds = round(time.perf_counter() - started, 3)
            running = {
                submit(u, "rest", reads.pop(u.id)): u for u in todo if not entries[u.id].error
            }
        else:
            running = {submit(u, "all"): u for u in todo}
        sched: Future[list[FileEntry]] | None = None
        if schedules and not wanted and (since is None or redo is None or seq != since.seq):
            if spec is None or n == 1:
                sched = pool.submit(partial(generate_schedules, store, out, now, f, keep=keep))
            else:
                sched = pool.submit(partial(_schedules_in_worker, spec, out, now, f, keep=keep))
        elif schedules and not wanted and previous is not None:
            man.schedules = [FileEntry(**x) for x in previous.get("schedules") or []]
        for fut in as_completed(running):
            u = running[fut]
            entries[u.id] = _entry_or_error(fut, u, out, man)
        if sched is not None:
            try:
                man.schedules = sched.result()
            except Exception as e:
                man.errors.append(f"schedules: {type(e).__name__}: {e}")
    man.units = [entries.get(u.id) or kept[u.id] for u in chosen]
    man.pages = sum(x.pages for u in man.units for x in u.files) + sum(
        x.pages for x in man.schedules
    )
    man.reused_pages = sum(entries[u].reused_pages for u in entries)
    man.seconds = round(time.perf_counter() - started, 3)
    write_atomic(out / "manifest.json", json.dumps(man.as_json(), indent=2).encode())
    return man


def _entry_or_error(fut: Future[UnitEntry], u: Unit, out: Path, man: Manifest) -> UnitEntry:
    """The unit's entry, or its failure recorded: one unit's failure must not cost the
    others their packets."""
    e = fut.exception()
    if e is None:
        return fut.result()
    entry = UnitEntry(
        u.id, u.alias, str(out / unit_folder(u.id)), "", 0, error=f"{type(e).__name__}: {e}"
    )
    man.errors.append(f"{u.alias}: {entry.error}")
    return entry


def run_forever(
    store: Store,
    out_dir: Path | str,
    *,
    interval_minutes: float = 15.0,
    changes_every_seconds: float | None = None,
    keep: int = DEFAULT_KEEP,
    data_as_of: Callable[[], datetime | str | None] = lambda: None,
    banner: Callable[[], str | None] = lambda: None,
    downtime_since: Callable[[], datetime | None] = lambda: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),  # in the hospital's zone
    stop: threading.Event | None = None,
    on_generated: Callable[[Manifest], None] | None = None,
    **kwargs: Any,
) -> None:
    """Regenerate every unit every `interval_minutes` (fixed rate) until `stop` is set;
    in between, every `changes_every_seconds` (None: never), only the units whose patients
    changed (`generate_all(changed_only=True)`)."""
    stop = stop or threading.Event()

    def once(changed_only: bool) -> None:
        man = generate_all(
            store,
            out_dir,
            clock(),
            data_as_of=data_as_of(),
            banner=banner(),
            downtime_since=downtime_since(),
            keep=keep,
            changed_only=changed_only,
            **kwargs,
        )
        if on_generated is not None:
            on_generated(man)
        kwargs.pop("print_all", None)  # print once, not every round
        kwargs.pop("printers", None)

    while not stop.is_set():
        next_full = time.monotonic() + interval_minutes * 60
        once(False)
        while changes_every_seconds and not stop.is_set():
            wait = min(changes_every_seconds, next_full - time.monotonic())
            if wait <= 0 or stop.wait(wait) or time.monotonic() >= next_full:
                break
            once(True)
        stop.wait(max(0.0, next_full - time.monotonic()))
