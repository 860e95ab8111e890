"""The `$export` figures of `standby bench fhir` (docs/fhir-api.md#performance).

* export rate: resources/s from the kick-off of a system `$export` to its manifest (every
  resource written to its NDJSON file by the server), beside the store's own iteration of
  the same resources in the same run (`Store.iter_type` over every held type in the
  bench's process, each body written to nowhere): what the export costs above reading;
* the files downloaded, their lines counted against the manifest;
* RSS of the server's worker processes (`standby serve` runs several): the largest before
  the export, and the largest peak (`VmHWM`) after it — the export streams, so the peak
  should stay near the resting size whatever the replica holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from standby.bench.harness import Figure, Progress


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _server_workers() -> list[int]:
    """The `standby serve` processes started by this bench (its children and theirs)."""
    return [p for p in _descendants(os.getpid()) if _kib(p, "VmRSS") > 0]


def store_iteration_rate(db: Path) -> tuple[int, float]:
    """(resources, seconds) of reading every held resource in the bench's process."""
    from standby.store import open_store

    store = open_store(db=db)
    try:
        n = 0
        t = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            for rtype in sorted(store.counts_by_type()):
                for sr in store.iter_type(rtype):
                    sink.write(sr.body)
                    n += 1
        return n, time.perf_counter() - t
    finally:
        store.close()


def export_figures(
    base: str, token: Callable[[], str], db: Path, progress: Progress
) -> list[Figure]:
    """`token()` gives a new access token: one lasts five minutes, and at 1M resources on a
    busy machine the export alone takes longer, so the client takes a new one every two."""
    import httpx

    workers = _server_workers()
    rest_mb = max((_kib(p, "VmRSS") for p in workers), default=0) / 1024
    got = [0.0]

    def fresh_auth(request: httpx.Request) -> None:
        if time.monotonic() - got[0] > 120:
            got[0] = time.monotonic()
            request.headers["Authorization"] = f"Bearer {token()}"
            c.headers["Authorization"] = request.headers["Authorization"]

    progress.step("system $export")
    with httpx.Client(base_url=base, timeout=600, event_hooks={"request": [fresh_auth]}) as c:
        t = time.perf_counter()
        r = c.get("/fhir/$export", headers={"Prefer": "respond-async"})
        if r.status_code != 202:
            raise RuntimeError(f"$export answered {r.status_code}: {r.text[:300]}")
        status_url = r.headers["content-location"]
        while (r := c.get(status_url)).status_code == 202:
            time.sleep(0.2)
        seconds = time.perf_counter() - t
        if r.status_code != 200:
            raise RuntimeError(f"$export status answered {r.status_code}: {r.text[:300]}")
        manifest = r.json()
        peak_mb = max((_kib(p, "VmHWM") for p in workers), default=0) / 1024
        exported = sum(int(i["count"]) for i in manifest["output"])
        progress.step(f"downloading {len(manifest['output'])} files")
        lines = 0
        t = time.perf_counter()
        for item in manifest["output"]:
            with c.stream("GET", item["url"], headers={"Accept": "application/fhir+ndjson"}) as f:
                for chunk in f.iter_bytes():
                    lines += chunk.count(b"\n")
        download_s = time.perf_counter() - t
        c.delete(status_url)
    progress.step("the store's own iteration of the same resources")
    n, iter_s = store_iteration_rate(db)
    return [
        Figure(
            f"$export (system, {exported} resources): kick-off to manifest",
            exported / seconds,
            "resources/s",
            "-",
            None,
            n / iter_s,
            "store iteration resources/s",
        ),
        Figure(
            "$export files downloaded",
            lines / download_s if download_s else 0.0,
            "lines/s",
            "every line of the manifest",
            lines == exported,
        ),
        Figure(
            "serve worker peak RSS after the $export (VmHWM)",
            peak_mb,
            "MB",
            "modest: near the resting size",
            None,
            rest_mb,
            "worker RSS before, MB",
        ),
    ]
