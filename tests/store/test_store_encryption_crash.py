"""An encrypted replica survives SIGKILL mid-write: after each kill it opens with its key,
passes SQLite's and SQLCipher's integrity checks (every page's HMAC), and holds every
batch the writer had reported committed (docs/security.md#the-replica-at-rest)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from standby.store.encryption import generate
from standby.store.sqlite import SQLiteStore

pytestmark = pytest.mark.slow

WRITER = """
import sys, orjson
from standby.store.encryption import parse
from standby.store.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1], key=parse(sys.argv[2], "test"))
start = int(sys.argv[3])
for batch in range(start, start + 10_000):
    store.upsert_many([
        orjson.dumps({"resourceType": "Patient", "id": f"p{batch}-{i}", "birthDate": "1950"})
        for i in range(100)
    ])
    print(batch, flush=True)
"""


def test_sigkill_while_writing_leaves_an_encrypted_replica_whole(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    key = generate()
    committed = -1
    for kill in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), key.hex, str(committed + 1)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(3 + kill):  # a different point in the writing each time
            line = child.stdout.readline()
            assert line, "the writer stopped"
            committed = int(line)
        child.send_signal(signal.SIGKILL)
        child.wait()
        for line in child.stdout:  # batches reported between the last read and the kill
            committed = int(line)
        child.stdout.close()
    store = SQLiteStore(db, key=key)
    with store.read_transaction() as tx:
        assert tx.query("PRAGMA integrity_check") == [("ok",)]
        assert tx.query("PRAGMA cipher_integrity_check") == []
        count = tx.query("SELECT count(*) FROM resource WHERE type = 'Patient'")[0][0]
    store.close()
    assert count >= (committed + 1) * 100
