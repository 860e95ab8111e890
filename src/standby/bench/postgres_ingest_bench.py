"""`standby bench ingest-postgres` — NDJSON into a PostgreSQL replica, beside bare COPY.

Data: the synthetic hospital of `standby bench ingest` (`--scale 1` is 40 beds, ~40,000
resources; `--scale 25` is 1,000 beds, ~1M). Needs STANDBY_TEST_POSTGRES_URL or the
`database_url` setting; every run works in schemas of its own, dropped at the end.

Figures, all from the same run:
* ingest: `ingest_directory` into a `PostgresStore` (resources written per second),
  beside the bare COPY floor: each line parsed (orjson) and its (type, id, body) sent by one
  binary COPY per batch into a table with no index, one commit per batch — the least any
  load of these bodies can do on this server;
* the same-rows floor: the rows the store writes for the same resources (resource rows and
  their index rows, extracted beforehand, not timed), one binary COPY per table per batch
  into the replica's own tables: what the server's side of the load costs, so that the gap
  between it and the ingest is the work done in Python;
* linearity: the median time of a batch over the first tenth and over the last tenth of the
  batches of the largest file (Observation), per 1,000 resources.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg

from standby.bench.harness import Figure, Progress, benchmark
from standby.bench.store_bench import _generate, _postgres_url
from standby.fhir.gate import ReceivedResource, admit
from standby.fhir.search_params import extract, patient_compartment
from standby.store.postgres import PostgresStore
from standby.store.postgres_write import INDEX_TABLES, RESOURCE_COLUMNS, RESOURCE_TYPES


@contextmanager
def _schema(url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _batches(data: Path, batch: int) -> Iterator[list[bytes]]:
    for path in sorted(data.glob("*.ndjson")):
        lines: list[bytes] = []
        with path.open("rb") as fh:
            for line in fh:
                lines.append(line.rstrip(b"\n"))
                if len(lines) >= batch:
                    yield lines
                    lines = []
        if lines:
            yield lines


def bare_copy_floor(url: str, data: Path, batch: int) -> tuple[int, float]:
    """(resources, seconds): parse each line, one binary COPY of (type, id, body) per batch
    into a table with no index, one commit per batch."""
    with _schema(url) as schema, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".r (type TEXT, id TEXT, body BYTEA)')
        loads = orjson.loads
        n = 0
        start = time.perf_counter()
        for lines in _batches(data, batch):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f'COPY "{schema}".r (type, id, body) FROM STDIN (FORMAT BINARY)') as cp,
            ):
                cp.set_types(["text", "text", "bytea"])
                for line in lines:
                    res = loads(line)
                    cp.write_row((res["resourceType"], res["id"], line))
            n += len(lines)
        return n, time.perf_counter() - start


def same_rows_floor(url: str, data: Path, batch: int) -> tuple[int, float]:
    """(resources, seconds): the replica's rows for every resource (index rows included),
    built before the clock starts for each batch, one binary COPY per table per batch."""
    with _schema(url) as schema:
        store = PostgresStore(url, schema=schema)  # the replica's own tables and pids
        try:
            conn = store._wconn
            w = store._single_writer.cursor
            rid = n = 0
            seconds = 0.0
            for lines in _batches(data, batch):
                rows: list[tuple[Any, ...]] = []
                index: dict[str, list[Any]] = {"token": [], "string": [], "date": [], "ref": []}
                for line in lines:
                    got = admit(line, max_bytes=store.max_resource_bytes)
                    assert isinstance(got, ReceivedResource)
                    rid += 1
                    res = got.json
                    rows.append(
                        (rid, got.resource_type, got.id, got.version_id or "1",
                         got.last_updated or "", 0, rid, 0, patient_compartment(res), got.raw)
                    )  # fmt: skip
                    store._index_rows(w, got.resource_type, rid, extract(res), index)
                start = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(
                        f"COPY resource ({RESOURCE_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                    ) as cp:
                        cp.set_types(RESOURCE_TYPES)
                        for row in rows:
                            cp.write_row(row)
                    for kind, krows in index.items():
                        table, columns, types = INDEX_TABLES[kind]
                        with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as cp:
                            cp.set_types(types)
                            for row in krows:
                                cp.write_row(row)
                seconds += time.perf_counter() - start
                n += len(lines)
            return n, seconds
        finally:
            store.close()


def timed_ingest(url: str, data: Path) -> tuple[int, float, dict[str, list[tuple[int, float]]]]:
    """(written, seconds, each file's batches as (resources, seconds)) of `ingest_directory`
    into a fresh `PostgresStore`."""
    per_file: dict[str, list[tuple[int, float]]] = {}
    with _schema(url) as schema:
        store = PostgresStore(url, schema=schema)
        try:
            upsert_many = store.upsert_many
            current: list[tuple[int, float]] = []

            def timed(resources: list[ReceivedResource], **kw: Any) -> Any:
                start = time.perf_counter()
                out = upsert_many(resources, **kw)
                if resources:
                    current.append((len(resources), time.perf_counter() - start))
                return out

            store.upsert_many = timed  # type: ignore[method-assign,assignment]
            written = 0
            start = time.perf_counter()
            for path in sorted(data.glob("*.ndjson")):
                current = per_file[path.stem] = []
                with path.open("rb") as fh:
                    written += store.ingest_ndjson(fh, file=str(path)).written
            seconds = time.perf_counter() - start
        finally:
            store.close()
    return written, seconds, per_file


def ms_per_1000(batches: list[tuple[int, float]]) -> float:
    """The median of batches' milliseconds per 1,000 resources."""
    return statistics.median(1e6 * s / n for n, s in batches)


@benchmark("ingest-postgres")
def ingest_postgres_bench(scale: float, progress: Progress) -> list[Figure]:
    url = _postgres_url()
    if not url:
        progress.step("no PostgreSQL: set STANDBY_TEST_POSTGRES_URL or database_url")
        return [Figure("PostgreSQL ingest", 0, "resources/s", "not run: no database URL", None)]
    work = Path(tempfile.mkdtemp(prefix="standby-bench-ingest-pg-"))
    try:
        data, n = _generate(scale, work, progress)
        batch = PostgresStore.batch_size
        progress.step(f"bare COPY floor over {n:,} resources")
        floor_n, floor_s = bare_copy_floor(url, data, batch)
        progress.step("NDJSON → PostgreSQL replica")
        written, seconds, per_file = timed_ingest(url, data)
        progress.step("the same rows by COPY alone")
        rows_n, rows_s = same_rows_floor(url, data, batch)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate, floor_rate, rows_rate = written / seconds, floor_n / floor_s, rows_n / rows_s
    largest = max(per_file.values(), key=len)
    tenth = max(1, len(largest) // 10)
    first, last = ms_per_1000(largest[:tenth]), ms_per_1000(largest[-tenth:])
    name = max(per_file, key=lambda k: len(per_file[k]))
    return [
        Figure("resources", written, "resources", "~1M at --scale 25", None),
        Figure(
            "PostgreSQL ingest",
            round(rate),
            "resources/s",
            ">= 0.50 of the bare COPY floor",
            rate >= 0.5 * floor_rate,
            baseline=round(floor_rate),
            baseline_name="bare COPY floor (parse + binary COPY of type, id, body)",
        ),
        Figure(
            "PostgreSQL ingest, beside the same rows by COPY alone",
            round(rate),
            "resources/s",
            "reported (the rest is Python: gate, extraction, index rows)",
            None,
            baseline=round(rows_rate),
            baseline_name="the store's rows, prebuilt, binary COPY",
        ),
        Figure(
            f"a batch at the end of {name}.ndjson ({len(largest)} batches)",
            round(last, 1),
            "ms per 1,000 resources",
            "linear: <= 1.5x its first tenth",
            last <= 1.5 * first,
            baseline=round(first, 1),
            baseline_name="median over its first tenth",
        ),
    ]
