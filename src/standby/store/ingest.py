"""Bulk ingest: an NDJSON stream into the store, in batches, bad lines set aside.

https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-output-file-format — one
resource per line. Lines are read one at a time (the file is never held); good lines are
written `ingest_batch_size` at a time; every bad line goes to the quarantine with the
reason, the file and its 1-based line number, and ingest goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store.base import IngestReport, Store, WriteOutcome

if TYPE_CHECKING:
    from standby.store.sql_store import SQLStore


def check_line(line: bytes, max_bytes: int) -> tuple[dict[str, Any] | None, str]:
    """The resource on one line, or None and the reason it cannot be stored."""
    if len(line) > max_bytes:
        return None, f"line is {len(line)} bytes, over the {max_bytes}-byte limit"
    try:
        res = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as uexc:
            return None, f"invalid UTF-8 at byte {uexc.start}"
        return None, f"malformed JSON: {exc}"
    if not isinstance(res, dict):
        return None, f"not a JSON object (a {type(res).__name__})"
    rtype = res.get("resourceType")
    if not isinstance(rtype, str):
        return None, "no resourceType"
    if rtype not in RESOURCE_TYPES:
        return None, f"unknown resourceType {rtype!r}"
    rid = res.get("id")
    if not isinstance(rid, str) or not rid:
        return None, f"{rtype} without id"
    return res, ""


def ingest_lines(
    store: SQLStore, stream: Iterable[bytes], *, file: str, source: str = "ingest"
) -> IngestReport:
    """Write every good line of `stream`; quarantine the others (see module doc)."""
    report = IngestReport()
    batch: list[tuple[bytes, dict[str, Any]]] = []
    max_bytes = store.max_resource_bytes
    size = store.batch_size

    def flush() -> None:
        for (_, res), outcome in zip(batch, store.write_parsed(batch), strict=True):
            if outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED, WriteOutcome.DELETED):
                report.written += 1
                rt = res["resourceType"]
                report.by_type[rt] = report.by_type.get(rt, 0) + 1
            else:
                report.unchanged += 1
        batch.clear()

    for lineno, raw in enumerate(stream, start=1):
        report.lines = lineno
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        res, reason = check_line(line, max_bytes)
        if res is None:
            report.quarantined += 1
            rtype = rid = None
            if reason.startswith(("unknown", "without")) or reason == "no resourceType":
                try:
                    obj = orjson.loads(line)
                    rtype = obj.get("resourceType") if isinstance(obj, dict) else None
                    rid = obj.get("id") if isinstance(obj, dict) else None
                except orjson.JSONDecodeError:
                    pass
            store.quarantine(
                source=source,
                reason=reason,
                raw=line[:65536],
                file=file,
                line=lineno,
                resource_type=rtype if isinstance(rtype, str) else None,
                resource_id=rid if isinstance(rid, str) else None,
            )
            continue
        batch.append((line, res))
        if len(batch) >= size:
            flush()
    if batch:
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
