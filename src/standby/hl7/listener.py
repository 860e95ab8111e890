"""The MLLP listener: many senders at once, each message ACKed only once what it became is
committed (`FeedWriter.commit`), in the order each sender sent them (docs/hl7.md).

One asyncio loop reads every connection. Messages go through two stages in arrival order:
prepared (read and mapped: pure, so in `workers` processes when there are some, else in a
thread), as soon as they arrive, whatever is waiting at once; and committed
(`FeedWriter.commit_prepared`, in a thread): each commit takes everything prepared while
the one before it ran (up to `max_batch` messages, from every connection), so one durable
transaction, and its fsync, serves as many messages as the senders keep in flight (group
commit). Each connection writes its ACKs in the order its messages came. If a commit
fails, the connections whose messages were in it are closed without an ACK: the engine
sends them again, as engines do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import ssl as ssl_lib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from standby.hl7.feed_writer import FeedWriter, Outcome
from standby.hl7.mllp import END, ack, frame, unframe
from standby.hl7.prepare import Prepared, prepare_all

log = logging.getLogger("standby.hl7")

_Item = tuple[bytes, str, "asyncio.Future[Outcome]"]


def server_tls(cert: Path, key: Path, client_ca: Path | None = None) -> ssl_lib.SSLContext:
    """TLS for the listener; with `client_ca`, senders must present a certificate it signed."""
    ctx = ssl_lib.create_default_context(ssl_lib.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if client_ca is not None:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl_lib.CERT_REQUIRED
    return ctx


class Listener:
    def __init__(
        self,
        writer: FeedWriter,
        *,
        workers: int = 0,
        max_batch: int = 500,
        max_message_bytes: int = 16 << 20,
    ) -> None:
        """`workers`: processes that read and map messages (0: a thread of this one)."""
        self.writer = writer
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        # prepared runs of messages, in arrival order, not yet taken by a commit
        self._ready: list[tuple[list[_Item], list[Prepared] | None]] = []
        self._ready_count = 0
        self._ready_changed = asyncio.Event()
        self._preparer: asyncio.Task[None] | None = None
        self.max_batch = max_batch
        self.max_message_bytes = max_message_bytes
        self.counts: Counter[str] = Counter()  # AA, AE, AR, duplicate
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._committer: asyncio.Task[None] | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None] | None] = {}

    async def start(
        self, host: str, port: int, *, tls: ssl_lib.SSLContext | None = None
    ) -> asyncio.Server:
        if self.workers > 0:
            self._new_pool()
        self._preparer = asyncio.create_task(self._prepare_loop())
        self._committer = asyncio.create_task(self._commit_loop())
        return await asyncio.start_server(
            self._connection, host, port, ssl=tls, limit=self.max_message_bytes
        )

    def _new_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_addr = writer.get_extra_info("peername")
        peer = f"mllp://{peer_addr[0]}:{peer_addr[1]}" if peer_addr else "mllp://?"
        self._connections[writer] = asyncio.current_task()
        answers: asyncio.Queue[asyncio.Future[Outcome] | None] = asyncio.Queue()
        acker = asyncio.create_task(self._send_acks(writer, answers))
        loop = asyncio.get_running_loop()
        try:
            while True:
                block = await reader.readuntil(END)
                raw = unframe(block)
                if not raw.strip():
                    continue
                fut: asyncio.Future[Outcome] = loop.create_future()
                await self._queue.put((raw, peer, fut))
                await answers.put(fut)
        except (asyncio.IncompleteReadError, ConnectionError, ssl_lib.SSLError):
            pass  # the sender hung up
        except asyncio.LimitOverrunError:
            log.warning(
                "%s: a message over %d bytes; connection closed", peer, self.max_message_bytes
            )
        finally:
            await answers.put(None)
            await acker
            writer.close()
            with contextlib.suppress(ConnectionError, ssl_lib.SSLError):
                await writer.wait_closed()
            self._connections.pop(writer, None)

    async def _send_acks(
        self,
        writer: asyncio.StreamWriter,
        answers: asyncio.Queue[asyncio.Future[Outcome] | None],
    ) -> None:
        broken = False
        while (fut := await answers.get()) is not None:
            try:
                outcome = await fut
            except Exception:  # not committed: no ACK, the sender will send it again
                broken = True
            if broken:
                writer.close()
                continue
            self.counts["duplicate" if outcome.duplicate else outcome.ack_code] += 1
            try:
                writer.write(
                    frame(
                        ack(
                            outcome.ack_code,
                            outcome.control_id,
                            outcome.header,
                            reason=outcome.reason,
                            error_code=outcome.error_code,
                        )
                    )
                )
                await writer.drain()
            except (ConnectionError, ssl_lib.SSLError):
                broken = True

    async def _prepare_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            while len(items) < self.max_batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            pairs = [(raw, peer) for raw, peer, _ in items]
            ctx, at = self.writer.ctx, self.writer.received_at()
            prepared: list[Prepared] | None
            try:
                if self._pool is not None:
                    size = -(-len(pairs) // self.workers)
                    parts = await asyncio.gather(
                        *(
                            loop.run_in_executor(
                                self._pool, prepare_all, pairs[k : k + size], ctx, at
                            )
                            for k in range(0, len(pairs), size)
                        )
                    )
                    prepared = [p for part in parts for p in part]
                else:
                    prepared = await asyncio.to_thread(prepare_all, pairs, ctx, at)
            except Exception as e:  # e.g. a worker process died: not ACKed, sent again
                log.error("reading %d messages failed: %s", len(items), e)
                prepared = None
                if isinstance(e, BrokenProcessPool):
                    # one worker killed breaks the whole pool for good: start a new one
                    self._new_pool()
            # no more than two commits' worth waits prepared: the senders wait for ACKs
            while self._ready_count >= 2 * self.max_batch:
                self._ready_changed.clear()
                await self._ready_changed.wait()
            self._ready.append((items, prepared))
            self._ready_count += len(items)
            self._ready_changed.set()

    def _take_ready(self) -> list[tuple[list[_Item], list[Prepared] | None]]:
        """The prepared runs the next commit takes: in arrival order, up to `max_batch`
        messages (at least one run)."""
        taken: list[tuple[list[_Item], list[Prepared] | None]] = []
        n = 0
        while self._ready and (not taken or n + len(self._ready[0][0]) <= self.max_batch):
            run = self._ready.pop(0)
            taken.append(run)
            n += len(run[0])
        self._ready_count -= n
        self._ready_changed.set()
        return taken

    async def _commit_loop(self) -> None:
        while True:
            while not self._ready:
                self._ready_changed.clear()
                await self._ready_changed.wait()
            runs = self._take_ready()
            for items, prepared in runs:
                if prepared is None:  # not read: not ACKed, sent again
                    self._fail(items, RuntimeError("the batch could not be read"))
            runs = [(items, prepared) for items, prepared in runs if prepared is not None]
            items = [item for run, _ in runs for item in run]
            prepared_all = [p for _, prepared in runs for p in (prepared or [])]
            if not items:
                continue
            try:
                outcomes = await asyncio.to_thread(self.writer.commit_prepared, prepared_all)
            except Exception as e:
                log.error("commit of %d messages failed: %s", len(items), e)
                self._fail(items, e)
                await asyncio.sleep(0.5)
                continue
            for (_, _, fut), outcome in zip(items, outcomes, strict=True):
                if not fut.done():
                    fut.set_result(outcome)

    @staticmethod
    def _fail(items: list[_Item], error: Exception) -> None:
        for _, _, fut in items:
            if not fut.done():
                fut.set_exception(error)
                fut.exception()  # retrieved here: the acker only closes the connection

    async def stop(self) -> None:
        """Hang up on every sender (what they sent and did not see ACKed they send again)."""
        # closing the transport ends each connection's read loop; cancelling its task would
        # make asyncio's stream protocol log the cancellation as an error
        tasks = [t for t in self._connections.values() if t is not None]
        for writer in list(self._connections):
            writer.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in (self._preparer, self._committer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
