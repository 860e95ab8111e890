"""Memory diagnostics for long runs: what grows, Python objects or the C heap?

With `STANDBY_MEMDEBUG_DIR` set, every `standby` process starts `tracemalloc` and a daemon
thread that every `STANDBY_MEMDEBUG_SECONDS` (default 120) appends to
`<dir>/<command>-<pid>.log`: RSS; the Python heap traced by tracemalloc (and tracemalloc's
own overhead); glibc's heap (`mallinfo2`: bytes in use, bytes free inside the heap, mmapped);
SQLite's own allocations (`sqlite3_memory_used`); and the 15 source lines whose traced memory
grew most since the first report. Read together: RSS rising with the traced heap is Python
object growth (a cache, a list); RSS rising with glibc's "in use" but not the traced heap is
C memory (SQLite page caches, parsers); RSS rising with glibc's "free" is fragmentation.

It costs memory and time (tracemalloc keeps a record per live block): a diagnostic only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

MB = 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def glibc_heap() -> dict[str, float] | None:
    """glibc's heap over all arenas in MB (in use, free inside the heap, mmapped), if any."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    m = fn()
    return {
        "in_use": (m.uordblks + m.hblkhd) / MB,
        "free": m.fordblks / MB,
        "mmapped": m.hblkhd / MB,
    }


def sqlite_memory_used() -> float | None:
    """SQLite's own allocations in this process (all connections) in MB, if reachable: the
    standard library's SQLite and SQLCipher's (an encrypted replica) together."""
    files = []
    with contextlib.suppress(ImportError):
        import _sqlite3

        files.append(_sqlite3.__file__)
    with contextlib.suppress(ImportError):
        import sqlcipher3._sqlite3 as _sqlcipher

        files.append(_sqlcipher.__file__)
    total = None
    for file in files:
        try:
            fn = ctypes.CDLL(file).sqlite3_memory_used
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_int64
        total = (total or 0.0) + float(fn()) / MB
    return total


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def line(first: tracemalloc.Snapshot | None, t0: float) -> tuple[str, tracemalloc.Snapshot]:
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    traced, _peak = tracemalloc.get_traced_memory()
    heap = glibc_heap() or {}
    sq = sqlite_memory_used()
    head = (
        f"t={time.monotonic() - t0:.0f}s rss={rss_mb():.1f} traced={traced / MB:.1f} "
        f"tracemalloc_overhead={tracemalloc.get_tracemalloc_memory() / MB:.1f} "
        + " ".join(f"glibc_{k}={v:.1f}" for k, v in heap.items())
        + (f" sqlite={sq:.1f}" if sq is not None else "")
    )
    lines = [head]
    if first is not None:
        for stat in snap.compare_to(first, "lineno")[:15]:
            lines.append(f"  {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} {stat}")
    return "\n".join(lines) + "\n", (first or snap)


def start(directory: str, every_s: float) -> None:
    """Trace allocations and report every `every_s` seconds to a file in `directory`."""
    tracemalloc.start(int(os.environ.get("STANDBY_MEMDEBUG_FRAMES", "1")))
    name = "-".join(a for a in sys.argv[1:3] if not a.startswith("-")) or "standby"
    out = Path(directory) / f"{name}-{os.getpid()}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def run() -> None:
        first: tracemalloc.Snapshot | None = None
        while True:
            time.sleep(every_s)
            with contextlib.suppress(Exception):
                text, first = line(first, t0)
                with open(out, "a") as f:
                    f.write(text)

    threading.Thread(target=run, name="memdebug", daemon=True).start()


def maybe_start() -> None:
    """Start when `STANDBY_MEMDEBUG_DIR` is set and, if `STANDBY_MEMDEBUG_ONLY` names words
    (comma-separated, e.g. "--watch,serve,monitor"), the command line has one of them: a
    traced seed or load runs several times slower."""
    directory = os.environ.get("STANDBY_MEMDEBUG_DIR")
    only = [w for w in os.environ.get("STANDBY_MEMDEBUG_ONLY", "").split(",") if w]
    if only and not any(w in sys.argv[1:] for w in only):
        return
    if directory:
        start(directory, float(os.environ.get("STANDBY_MEMDEBUG_SECONDS", "120")))
