"""Peak memory of the sync reading one huge search page: a Bundle of about `mb` MB of
Observations (each ~1 KB) is written to a file and served over a socket; a child process
(this file run as a script: `python sync_page_rss.py URL DB`) runs one type-mode round of
the sync against it into an empty SQLite replica and prints its peak RSS (VmHWM, the
kernel's high-water mark of the program's memory, so no sample is missed) and what it
wrote.

Used by `standby bench sync` and by tests/sync/test_sync_page_memory.py.
"""

from __future__ import annotations

import http.server
import json
import resource
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOTE = "x" * 800


def write_large_page(path: Path, mb: float) -> int:
    """A searchset Bundle of about `mb` MB; the number of Observations in it."""
    n = 0
    with path.open("wb") as fh:
        fh.write(b'{"resourceType":"Bundle","type":"searchset","entry":[')
        written = 0
        while written < mb * 1024 * 1024:
            res = (
                f'{{"fullUrl":"urn:o{n}","resource":{{"resourceType":"Observation","id":"o{n}",'
                f'"meta":{{"versionId":"1","lastUpdated":"2026-11-28T10:00:00.000Z"}},'
                f'"status":"final","code":{{"text":"Heart rate"}},'
                f'"subject":{{"reference":"Patient/p{n % 500}"}},'
                f'"valueQuantity":{{"value":{60 + n % 40}.50,"unit":"/min"}},'
                f'"note":[{{"text":"{NOTE}"}}]}},"search":{{"mode":"match"}}}}'
            ).encode()
            fh.write((b"," if n else b"") + res)
            written += len(res) + 1
            n += 1
        fh.write(b"]}")
    return n


@contextmanager
def serve_file(path: Path) -> Iterator[str]:
    """Every GET answers the file at `path` (as application/fhir+json)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            size = path.stat().st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    self.wfile.write(chunk)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def measure(mb: float) -> dict[str, float]:
    """Peak RSS (MB) of a sync process reading one page of `mb` MB, and what it wrote."""
    with tempfile.TemporaryDirectory(prefix="standby-page-rss-") as tmp:
        page = Path(tmp) / "page.json"
        n = write_large_page(page, mb)
        with serve_file(page) as url:
            out = subprocess.run(
                [sys.executable, __file__, url, str(Path(tmp) / "r.db")],
                capture_output=True,
                check=True,
                timeout=1800,
            )
        got: dict[str, float] = json.loads(out.stdout.decode().strip().splitlines()[-1])
        got["sent"] = n
        got["page_mb"] = round(page.stat().st_size / 1024 / 1024, 1)
        return got


def _peak_mb() -> float:
    """This process's peak RSS in MB: VmHWM, which belongs to the memory of this program.
    `getrusage`'s ru_maxrss is kept across fork and exec on Linux, so a child of a big
    process (a pytest worker late in a run) would report its parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(url: str, db: str) -> None:
    from standby.store.sqlite import SQLiteStore
    from standby.sync.census import CensusConfig
    from standby.sync.http import FhirClient
    from standby.sync.incremental import IncrementalSync

    store = SQLiteStore(Path(db))
    client = FhirClient(url, rate=0, timeout=600)
    cfg = CensusConfig(source="ehr", patient_types=("Observation",), shared_types=())
    sync = IncrementalSync(
        client, store, cfg, mode="type", types=["Observation"], workers=1, max_bytes=1 << 24
    )
    result = sync.run_round()
    sync.close()
    client.close()
    peak = _peak_mb()
    written = result.stats.written
    store.close()
    print(json.dumps({"peak_mb": round(peak, 1), "written": written, "ok": result.ok}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
