"""Acknowledged means durable: a process appending entries from 20 threads is killed
(SIGKILL) at a random moment, 20 times over one database. Every entry it reported as
saved is in the journal afterwards, whole; nothing half-written is there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from standby.journal import repository
from standby.store.sqlite import SQLiteStore

pytestmark = pytest.mark.slow

CHILD = """
import sys, threading
from standby.store.sqlite import SQLiteStore
from standby.journal import repository
from standby.journal.entries import Kind
from support.journal_entries import entry

store = SQLiteStore({db!r})
writer = repository.JournalWriter(store)
out = threading.Lock()
print("ready", flush=True)

def clinician(n):
    while True:
        e = entry(Kind.NOTE, patient_id=f"p{{n}}", minutes_ago=1)
        writer.submit(e)
        with out:  # only now may the screen say "saved"
            sys.stdout.write(e.id + "\\n")
            sys.stdout.flush()

for n in range(20):
    threading.Thread(target=clinician, args=(n,), daemon=True).start()
threading.Event().wait()
"""


def test_every_confirmed_entry_survives_twenty_kills(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    tests = str(Path(__file__).resolve().parents[1])
    code = CHILD.format(db=str(db))
    rng = random.Random(20)
    confirmed: set[str] = set()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": tests}
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines = out.decode().split("\n")
        confirmed |= {line for line in lines[:-1] if line}  # the last may be cut mid-line
    store = SQLiteStore(db)
    try:
        held = {e.id: e for _, e in repository.since(store, limit=10_000_000)}
    finally:
        store.close()
    assert confirmed, "no entry was confirmed before the kills"
    assert confirmed <= set(held), f"{len(confirmed - set(held))} confirmed entries were lost"
    assert all(e.payload["text"] for e in held.values())  # whole entries only
