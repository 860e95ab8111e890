"""SIGKILL the listener (a real `standby hl7 listen` process) twice during a 10,000-message
feed from a sender that sends again what was not ACKed, as interface engines do: every
ACKed message is in the replica, and none is in it twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from standby.hl7 import synthetic
from standby.hl7.sender import send
from standby.store.sqlite import SQLiteStore

STANDBY = Path(sys.executable).with_name("standby")
PATIENTS, RESULTS = 50, 9950


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(STANDBY), "hl7", "listen", "--port", str(port), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "STANDBY_DB_ENCRYPTION": "off"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on mllp://127.0.0.1:"), line
    return proc


@pytest.mark.slow
def test_sigkill_during_a_feed_loses_no_acked_message_and_stores_none_twice(
    tmp_path: Path,
) -> None:
    db = tmp_path / "replica.db"
    port = free_port()
    messages = synthetic.feed(PATIENTS, RESULTS)
    assert len(messages) == 10_000
    procs = [start(db, port)]
    kill_at = [2_000, 6_000]
    killed_at: list[int] = []

    def on_ack(answered: int) -> None:
        # right after an ACK, with up to `window` messages still in flight: some of them
        # committed but not ACKed, which the sender will send again
        if kill_at and answered >= kill_at[0]:
            kill_at.pop(0)
            procs[-1].send_signal(signal.SIGKILL)
            procs[-1].wait()
            killed_at.append(answered)
            procs.append(start(db, port))

    try:
        report = asyncio.run(
            send(
                messages,
                "127.0.0.1",
                port,
                window=20,
                timeout=10,
                retry_delay=0.2,
                give_up_after=120,
                on_ack=on_ack,
            )
        )
    finally:
        procs[-1].send_signal(signal.SIGTERM)
        procs[-1].wait(timeout=30)
        if procs[-1].stdout is not None:
            procs[-1].stdout.close()
        for p in procs[:-1]:
            if p.stdout is not None:
                p.stdout.close()
    assert killed_at == [2_000, 6_000]
    assert report.connections >= 3  # the sender had to reconnect after each kill
    acked = [cid for code, cid, _ in report.acks if code == "AA"]
    assert len(acked) == 10_000 and len(set(acked)) == 10_000

    store = SQLiteStore(db)
    try:
        with store.read_transaction() as tx:
            received = {r[0] for r in tx.query("SELECT control_id FROM hl7_received")}
            assert tx.query("SELECT count(*) FROM hl7_received")[0][0] == 10_000
            # a message stored twice would have made a second version of its resources
            assert tx.query("SELECT count(*) FROM resource_history")[0][0] == 0
        assert received == set(acked)
        counts = store.counts_by_type()
        assert counts["Patient"] == PATIENTS and counts["Encounter"] == PATIENTS
        assert counts["DiagnosticReport"] == RESULTS
        assert counts["Observation"] == 3 * RESULTS
        fillers = {
            i["value"]
            for dr in store.iter_type("DiagnosticReport")
            for i in dr.json()["identifier"]
            if i["type"]["coding"][0]["code"] == "FILL"
        }
        assert fillers == {f"F{n}" for n in range(RESULTS)}
        assert store.quarantined() == []
    finally:
        store.close()
