"""Streaming NDJSON output: one `<ResourceType>.ndjson` file per type, written as we go.

https://hl7.org/fhir/uv/bulkdata/export.html#file-format (the Bulk Data NDJSON layout).
Resources are serialised with orjson the moment they are made and never kept, so a
million-resource hospital needs only a few megabytes of memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

BUFFER = 1 << 20


class NdjsonWriter:
    """Appends resources to per-type files under `out` and counts them."""

    def __init__(self, out: Path, on_write: Callable[[int], None] | None = None) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self.counts: dict[str, int] = {}
        self.total = 0
        self._on_write = on_write
        self._dumps = orjson.dumps

    def write(self, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        fh = self._files.get(rtype)
        if fh is None:
            fh = open(self.out / f"{rtype}.ndjson", "wb", buffering=BUFFER)  # noqa: SIM115
            self._files[rtype] = fh
            self.counts[rtype] = 0
        fh.write(self._dumps(resource))
        fh.write(b"\n")
        self.counts[rtype] += 1
        self.total += 1
        if self._on_write is not None and not self.total & 1023:
            self._on_write(self.total)

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        if self._on_write is not None:
            self._on_write(self.total)
