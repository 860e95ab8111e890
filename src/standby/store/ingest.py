"""Bulk ingest: NDJSON into the store, in batches, bad lines set aside — the one loop that
both `Store.ingest_ndjson` (files on disk) and the sync's seed (`standby.sync.bulk_export`,
files streamed from the source) run.

https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-output-file-format — one
resource per line. Lines are read one at a time (the file is never held); each passes the
gate (`standby.fhir.gate.admit`) once, and what passes is written `batch_size` at a time
without being parsed again; every bad line goes to the quarantine with the reason, the
file and its 1-based line number, and ingest goes on. With a checkpoint stream, the count
of lines done is committed in the same transaction as those lines, so a restart skips
exactly the lines already held.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from standby.fhir.gate import ReceivedResource, Refusal, admit
from standby.store.base import IngestReport, Store, WriteOutcome

log = logging.getLogger("standby.store.ingest")

# what else a batch entails: given the batch, a function that writes it (or None)
AlsoWrite = Callable[[Sequence[ReceivedResource]], Callable[[], None] | None]
EXCERPT_BYTES = 65536  # how much of a bad line the quarantine keeps


def split_lines(chunks: Iterable[bytes], max_bytes: int) -> Iterator[tuple[bytes, int]]:
    """NDJSON lines of a byte stream as (line, length). A line longer than `max_bytes` is
    yielded as its first 64 KiB with its true length (the rest is never held)."""
    buf = bytearray()
    over = 0  # > 0: inside an over-long line, counting its length
    for chunk in chunks:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            if over:
                over += len(piece)
            else:
                buf += piece
                if len(buf) > max_bytes:
                    over = len(buf)
                    del buf[EXCERPT_BYTES:]
            if nl < 0:
                break
            yield (bytes(buf), over or len(buf))
            buf.clear()
            over = 0
            start = nl + 1
    if buf or over:
        yield (bytes(buf), over or len(buf))


def set_aside(
    store: Store,
    raw: bytes,
    refusal: Refusal,
    *,
    source: str,
    file: str | None,
    line: int | None = None,
) -> None:
    """Quarantine bytes the gate refused, with its reason and where they came from."""
    store.quarantine(
        source=source,
        reason=refusal.reason,
        raw=raw[:EXCERPT_BYTES],
        file=file,
        line=line,
        resource_type=refusal.resource_type,
        resource_id=refusal.id,
    )
    log.warning(
        "quarantined",
        extra={
            "file": file,
            "line": line,
            "resource_type": refusal.resource_type,
            "reason": refusal.reason,
        },
    )


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused while resources are loaded. A parsed resource holds no
    cycle and is freed by its reference count, yet the collector ran every 700 objects a
    load makes (~2,000 collections per 40,000 resources, 12-20% of the time); cycles that
    other threads make meanwhile are collected once it resumes. Re-entrant and
    thread-safe: collection resumes when the last load ends."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def ingest_lines(
    store: Store,
    lines: Iterable[tuple[bytes, int]],
    *,
    file: str,
    source: str = "ingest",
    max_bytes: int,
    batch_size: int,
    expected_type: str | None = None,
    checkpoint: str | None = None,
    skip: int = 0,
    report: IngestReport | None = None,
    also: AlsoWrite | None = None,
) -> IngestReport:
    """Write every good line of `lines` ((line, true length) pairs, see `split_lines`);
    quarantine the others (see module doc).

    `expected_type`: the type every line must be (a file of one type).
    `checkpoint`: the stream that holds the number of lines done, committed with each
    batch (and at the end, even with nothing to write); the first `skip` lines are done.
    `report.lines` counts the lines read after those skipped. `report`: counts go there as
    batches commit (so that what was done before an exception is still counted).
    `also(batch)`: what else writing this batch entails (e.g. FHIR sync superseding the HL7
    v2 feed's copies, `standby.sync.feed_copies`), read before the batch is written and
    written by the function it returns in the batch's own transaction; None: nothing.
    """
    with no_cycle_collection():
        return _ingest_lines(
            store,
            lines,
            file=file,
            source=source,
            max_bytes=max_bytes,
            batch_size=batch_size,
            expected_type=expected_type,
            checkpoint=checkpoint,
            skip=skip,
            report=IngestReport() if report is None else report,
            also=also,
        )


def _ingest_lines(
    store: Store,
    lines: Iterable[tuple[bytes, int]],
    *,
    file: str,
    source: str,
    max_bytes: int,
    batch_size: int,
    expected_type: str | None,
    checkpoint: str | None,
    skip: int,
    report: IngestReport,
    also: AlsoWrite | None = None,
) -> IngestReport:
    batch: list[ReceivedResource] = []
    n = skip

    def flush() -> None:
        if not batch and checkpoint is None:
            return
        mark = (checkpoint, str(n)) if checkpoint is not None else None
        extra = also(batch) if also is not None and batch else None
        if extra is None:
            outcomes = store.upsert_many(batch, checkpoint=mark)
        else:
            with store.transaction():
                outcomes = store.upsert_many(batch, checkpoint=mark)
                extra()
        for res, outcome in zip(batch, outcomes, strict=True):
            if outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED, WriteOutcome.DELETED):
                report.written += 1
                rt = res.resource_type
                report.by_type[rt] = report.by_type.get(rt, 0) + 1
            else:
                report.unchanged += 1
        batch.clear()
        # cycles that other code makes while the collector is paused: young ones only,
        # which costs what survived this batch (a parsed batch is already freed)
        gc.collect(1)

    for lineno, (raw, size) in enumerate(lines, start=1):
        if lineno <= skip:
            continue
        n = lineno
        report.lines += 1
        line = raw.rstrip(b"\r\n")
        whole = size == len(raw)  # else `raw` is the first bytes of an over-long line
        if whole and not line.strip():
            continue
        got = admit(
            line,
            max_bytes=max_bytes,
            expected_type=expected_type,
            size=len(line) if whole else size,
        )
        if isinstance(got, Refusal):
            report.quarantined += 1
            set_aside(store, line, got, source=source, file=file, line=lineno)
            continue
        batch.append(got)
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def ingest_directory(store: Store, folder: Path, *, source: str = "ingest") -> IngestReport:
    """Ingest every `*.ndjson` file of a folder (sorted by name); one report for all."""
    total = IngestReport()
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as fh:
            r = store.ingest_ndjson(fh, file=str(path), source=source)
        total.lines += r.lines
        total.written += r.written
        total.unchanged += r.unchanged
        total.quarantined += r.quarantined
        for k, v in r.by_type.items():
            total.by_type[k] = total.by_type.get(k, 0) + v
    return total
