"""A dict-backed stand-in for the `Store` methods the change feed uses (read, update,
search on status / encounter / date, iter_type), for tests that need no database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from standby.store.base import SearchPage, StoredResource

JSON = dict[str, Any]


class MemoryStore:
    engine = "memory"

    def __init__(self) -> None:
        self.data: dict[str, dict[str, JSON]] = {}

    @classmethod
    def from_ndjson(cls, folder: Path) -> MemoryStore:
        store = cls()
        for path in sorted(folder.glob("*.ndjson")):
            with path.open("rb") as fh:
                for line in fh:
                    r = orjson.loads(line)
                    store.data.setdefault(r["resourceType"], {})[r["id"]] = r
        return store

    def _stored(self, r: JSON) -> StoredResource:
        meta = r.get("meta") or {}
        return StoredResource(
            r["resourceType"],
            r["id"],
            str(meta.get("versionId", "1")),
            str(meta.get("lastUpdated", "")),
            False,
            orjson.dumps(r),
        )

    def update(self, resource: JSON, *, if_match: str | None = None) -> StoredResource:
        held = self.data.setdefault(resource["resourceType"], {}).get(resource["id"])
        version = int(held["meta"]["versionId"]) + 1 if held else 1
        body = {
            **resource,
            "meta": {"versionId": str(version), "lastUpdated": "2026-11-28T10:00:00Z"},
        }
        self.data[resource["resourceType"]][resource["id"]] = body
        return self._stored(body)

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        r = self.data.get(resource_type, {}).get(id)
        return None if r is None else self._stored(r)

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        for r in self.data.get(resource_type, {}).values():
            yield self._stored(r)

    def search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        sort: Sequence[str] = (),
        count: int = 50,
        offset: int = 0,
        total: bool = False,
    ) -> SearchPage:
        hits = []
        for r in self.data.get(resource_type, {}).values():
            ok = True
            for name, value in params:
                if name == "status":
                    ok = ok and r.get("status") == value
                elif name == "encounter":
                    ok = ok and (r.get("encounter") or {}).get("reference") == value
                elif name == "date" and value.startswith("ge"):
                    ok = ok and str(r.get("start", "")) >= value[2:]
                else:
                    raise ValueError(f"unsupported search parameter {name}")
            if ok:
                hits.append(r)
        hits.sort(key=lambda r: r["id"])
        return SearchPage([self._stored(r) for r in hits[offset : offset + count]], None)
