"""The feed writer on both durable engines (SQLite, PostgreSQL), what the listener does when
a commit fails, worker processes, and `standby hl7 replay`."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.hl7 import synthetic
from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter, Outcome
from standby.hl7.listener import Listener
from standby.hl7.prepare import Prepared
from standby.hl7.sender import SendReport, send
from standby.store.base import Store
from standby.store.sqlite import SQLiteStore
from support import hl7_messages as M
from support.store_engines import durable_store, pg_schema  # noqa: F401 (fixtures)

MRN = "https://standby.example.org/fhir/sid/mrn"


def b(text: str) -> bytes:
    return text.encode()


def test_writer_sets_aside_answers_repeats_and_finds_synced_patients(store: Store) -> None:
    writer = FeedWriter(store, Context())
    store.upsert(
        orjson.dumps(
            {
                "resourceType": "Patient",
                "id": "pt42",
                "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
                "identifier": [{"system": MRN, "value": "10000007"}],
            }
        )
    )
    unknown = M.ORU_R01.replace("10000007^^^SGH^MR", "77777777^^^SGH^MR").replace(
        "LAB00001", "LAB00099"
    )
    batch = [b(M.ORU_R01), b"garbage", b(unknown), b(M.UNKNOWN_TYPE), b(M.ORU_R01)]
    out = writer.commit([(m, "test") for m in batch])
    assert [(o.ack_code, o.duplicate) for o in out] == [
        ("AA", False),
        ("AR", False),
        ("AE", False),
        ("AR", False),
        ("AA", True),  # the same control id again, in the same batch
    ]
    assert store.counts_by_type() == {"DiagnosticReport": 1, "Observation": 6, "Patient": 1}
    assert len(store.search("Observation", [("subject", "Patient/pt42")]).resources) == 6
    assert len(store.quarantined()) == 3
    # a later batch: answered from hl7_received, with the answer first given
    again = writer.commit([(b(unknown), "test"), (b(M.ORU_R01), "test")])
    assert [(o.ack_code, o.duplicate) for o in again] == [("AE", True), ("AA", True)]
    # a new writer (a restarted listener) knows them too
    again = FeedWriter(store, Context()).commit([(b(M.ORU_R01), "test")])
    assert again[0].duplicate


def test_an_older_message_arriving_late_does_not_undo_a_newer_one(store: Store) -> None:
    writer = FeedWriter(store, Context())
    writer.commit([(b(M.ADT_A03), "test")])  # discharge at 12:00
    late = M.ADT_A01  # the admission, sent at 08:15, arrives after it
    assert writer.commit([(b(late), "test")])[0].ack_code == "AA"
    (enc,) = store.search("Encounter", [("identifier", "V000123")]).resources
    assert enc.json()["status"] == "finished"


class FailingOnce(FeedWriter):
    """A replica whose first commit fails (a full disk, a lost database connection)."""

    failed = False

    def commit_prepared(self, items: Sequence[Prepared]) -> list[Outcome]:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        return super().commit_prepared(items)


def _serve(writer: FeedWriter, messages: list[bytes], workers: int = 0, **kw: object) -> SendReport:
    async def main() -> SendReport:
        listener = Listener(writer, workers=workers)
        server = await listener.start("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await send(messages, "127.0.0.1", port, retry_delay=0.1, **kw)  # type: ignore[arg-type]
        finally:
            server.close()
            await listener.stop()

    return asyncio.run(main())


def test_nothing_is_acked_that_was_not_committed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    try:
        writer = FailingOnce(store, Context())
        report = _serve(writer, [b(M.ADT_A01)], timeout=10)
        assert writer.failed
        # the failed commit closed the connection without an ACK; the sender sent it again
        assert report.connections == 2 and report.sent == 2
        assert [a[:2] for a in report.acks] == [("AA", "ADT0001")]
        assert store.counts_by_type()["Patient"] == 1
    finally:
        store.close()


def test_worker_processes_read_and_map(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    try:
        writer = FeedWriter(store, Context())
        t0 = synthetic.datetime(2026, 11, 30, tzinfo=synthetic.UTC)
        feed = [synthetic.admit(0, t0), *(synthetic.result(n, 0, t0) for n in range(30))]
        report = _serve(writer, [*feed, b"garbage"], workers=2, window=10, timeout=30)
        assert [a[0] for a in report.acks] == ["AA"] * 31 + ["AR"]
        assert store.counts_by_type()["Observation"] == 90
    finally:
        store.close()


@pytest.mark.slow
def test_a_worker_process_that_dies_is_replaced(tmp_path: Path) -> None:
    """A worker killed (the kernel's OOM killer, an operator) breaks the whole process pool;
    the listener starts a new one, and what the sender sends again is read and ACKed (the
    pool was kept broken: every message after it refused for good, the feed stopped)."""
    store = SQLiteStore(tmp_path / "r.db")
    t0 = synthetic.datetime(2026, 11, 30, tzinfo=synthetic.UTC)

    async def main() -> tuple[SendReport, SendReport]:
        listener = Listener(FeedWriter(store, Context()), workers=1)
        server = await listener.start("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            first = await send([synthetic.admit(0, t0)], "127.0.0.1", port, timeout=30)
            assert listener._pool is not None
            for proc in list(listener._pool._processes.values()):  # type: ignore[attr-defined]
                os.kill(proc.pid, signal.SIGKILL)
                proc.join()
            later = [synthetic.result(n, 0, t0) for n in range(3)]
            then = await send(
                later, "127.0.0.1", port, window=3, timeout=30, retry_delay=0.2, give_up_after=45
            )
            return first, then
        finally:
            server.close()
            await listener.stop()

    try:
        first, then = asyncio.run(main())
        assert [a[0] for a in first.acks] == ["AA"]
        assert [a[0] for a in then.acks] == ["AA"] * 3
        assert store.counts_by_type()["DiagnosticReport"] == 3
    finally:
        store.close()


def test_replay_loads_an_archive_once(tmp_path: Path) -> None:
    archive = tmp_path / "archive.hl7"
    # as engines archive them: LF between segments, messages one after another
    archive.write_text(
        "\n".join(m.replace("\r", "\n") for m in (M.ADT_A01, M.ORU_R01, M.UNKNOWN_TYPE))
    )
    db = tmp_path / "r.db"
    env = {**os.environ, "STANDBY_DB_ENCRYPTION": "off"}
    first = CliRunner().invoke(app, ["hl7", "replay", str(archive), "--db", str(db)], env=env)
    assert first.exit_code == 0, first.output
    assert "3 messages: 2 stored, 0 already received, 1 set aside" in first.output
    again = CliRunner().invoke(app, ["hl7", "replay", str(archive), "--db", str(db)], env=env)
    assert "3 messages: 0 stored, 3 already received, 0 set aside" in again.output
    store = SQLiteStore(db)
    try:
        assert store.counts_by_type()["Observation"] == 6
        (item,) = store.quarantined()
        assert item.file == f"{archive}#3" and "DFT^P03" in item.reason
    finally:
        store.close()
