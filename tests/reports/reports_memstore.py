"""A small in-memory Store for the read-model and packet tests: enough of the interface
(compartment, read, iter_type, and the searches standby.clinical makes) to run without a
database engine. The SQLite engine is exercised by the tests that use `open_store`."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

import orjson

from standby.store.base import (
    IngestReport,
    Migration,
    QuarantineItem,
    SearchPage,
    Store,
    StoredResource,
    Transaction,
    WriteOutcome,
)

PATIENT_REFS = ("subject", "patient")
SEARCHED = {"Encounter", "Patient", "Appointment"}  # the types searches read bodies of


def _fold(s: str) -> str:
    n = unicodedata.normalize("NFKD", s)
    return "".join(c for c in n if not unicodedata.combining(c)).casefold()


class MemoryStore(Store):
    engine = "memory"

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredResource] = {}
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_patient: dict[str, list[tuple[str, str]]] = {}

    # writes
    def upsert_many(self, bodies: Iterable[bytes], *, checkpoint: Any = None) -> list[WriteOutcome]:
        out = []
        for b in bodies:
            r = orjson.loads(b)
            key = (r["resourceType"], r["id"])
            meta = r.get("meta") or {}
            self.rows[key] = StoredResource(
                key[0],
                key[1],
                str(meta.get("versionId", "1")),
                str(meta.get("lastUpdated", "")),
                False,
                bytes(b),
            )
            if key[0] in SEARCHED:
                self.bodies[key] = r
            pid = r["id"] if key[0] == "Patient" else None
            for f in PATIENT_REFS:
                ref = (r.get(f) or {}).get("reference", "") if isinstance(r.get(f), dict) else ""
                if ref.startswith("Patient/"):
                    pid = ref.split("/", 1)[1]
            if key[0] == "Appointment":
                for p in r.get("participant") or []:
                    ref = (p.get("actor") or {}).get("reference", "")
                    if ref.startswith("Patient/"):
                        pid = ref.split("/", 1)[1]
            if pid:
                self.by_patient.setdefault(pid, []).append(key)
            out.append(WriteOutcome.CREATED)
        return out

    def ingest_ndjson(
        self, stream: Iterable[bytes], *, file: str, source: str = "ingest"
    ) -> IngestReport:
        rep = IngestReport()
        for line in stream:
            if line.strip():
                self.upsert_many([line.strip()])
                rep.lines += 1
                rep.written += 1
        return rep

    def tombstone(self, *a: Any, **k: Any) -> WriteOutcome:
        raise NotImplementedError

    def create(self, resource: Any) -> StoredResource:
        raise NotImplementedError

    def update(self, resource: Any, *, if_match: str | None = None) -> StoredResource:
        raise NotImplementedError

    def delete(self, resource_type: str, id: str) -> StoredResource | None:
        raise NotImplementedError

    # reads
    def read(self, resource_type: str, id: str) -> StoredResource | None:
        return self.rows.get((resource_type, id))

    def vread(self, resource_type: str, id: str, version_id: str) -> StoredResource | None:
        return self.read(resource_type, id)

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        r = self.read(resource_type, id)
        return [r] if r else []

    def changes_since(self, since: str | None, **k: Any) -> list[tuple[int, StoredResource]]:
        raise NotImplementedError

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
        if resource_type not in SEARCHED:
            raise ValueError(f"unsupported search of {resource_type}")
        rows = [(k, self.bodies[k]) for k in self.rows if k[0] == resource_type]
        for name, value in params:
            rows = [(k, r) for k, r in rows if self._match(resource_type, name, value, r)]
        if sort == ["-_lastUpdated"] or list(sort) == ["-_lastUpdated"]:
            rows.sort(key=lambda kr: self.rows[kr[0]].last_updated, reverse=True)
        page = [self.rows[k] for k, _ in rows[offset : offset + count]]
        return SearchPage(page, len(rows) if total else None)

    def _match(self, rt: str, name: str, value: str, r: dict[str, Any]) -> bool:
        alts = value.split(",")
        if rt == "Encounter" and name == "location":
            refs = {x.get("location", {}).get("reference") for x in r.get("location") or []}
            return bool(refs & set(alts))
        if name == "status":
            return r.get("status") in alts
        if rt == "Patient" and name == "name":
            parts = [
                _fold(p)
                for n in r.get("name") or []
                for p in [n.get("family", ""), *n.get("given", [])]
            ]
            return any(p.startswith(_fold(v)) for v in alts for p in parts)
        if rt == "Patient" and name == "identifier":
            return any(i.get("value") in alts for i in r.get("identifier") or [])
        if rt == "Patient" and name == "birthdate":
            return r.get("birthDate") in alts
        if rt == "Appointment" and name == "date":
            start = str(r.get("start", ""))[:19]
            v = value[2:21].replace("Z", "")
            return start >= v if value.startswith("ge") else start < v
        raise ValueError(f"unsupported search parameter {rt}.{name}")

    def compartment(
        self, patient_id: str, types: Sequence[str] | None = None
    ) -> list[StoredResource]:
        keys = self.by_patient.get(patient_id, [])
        return [self.rows[k] for k in keys if types is None or k[0] in types]

    def iter_type(self, resource_type: str, batch: int = 1000) -> Iterator[StoredResource]:
        return iter([v for k, v in self.rows.items() if k[0] == resource_type])

    def counts_by_type(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rt, _ in self.rows:
            out[rt] = out.get(rt, 0) + 1
        return out

    # not used here
    def quarantine(self, **k: Any) -> None:
        raise NotImplementedError

    def quarantined(self, **k: Any) -> list[QuarantineItem]:
        return []

    def get_checkpoint(self, stream: str) -> str | None:
        return None

    def set_checkpoint(self, stream: str, value: str) -> None:
        raise NotImplementedError

    def ensure_schema(self, namespace: str, migrations: Sequence[Migration]) -> None:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def read_transaction(self) -> AbstractContextManager[Transaction]:
        # one snapshot is all a dict can offer; SQL is not supported here
        return contextlib.nullcontext(cast(Transaction, None))

    def close(self) -> None:
        pass
