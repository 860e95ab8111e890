"""Sending a file of messages to an MLLP listener the way interface engines do: in order,
up to `window` messages unanswered at a time, and every message that was not ACKed sent
again after a timeout or a lost connection, until each one has its ACK (docs/hl7.md)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_lib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from standby.hl7.mllp import END, frame, read_ack, unframe
from standby.hl7.prepare import control_id_of, decode


@dataclass(slots=True)
class SendReport:
    acks: list[tuple[str, str, str]] = field(default_factory=list)  # (code, control id, text)
    sent: int = 0  # frames written, repeats included
    connections: int = 0

    def count(self, code: str) -> int:
        return sum(1 for a in self.acks if a[0] == code)


class SendFailed(Exception):
    """The listener could not be reached for longer than the sender would wait."""


async def send(
    messages: list[bytes],
    host: str,
    port: int,
    *,
    window: int = 1,
    timeout: float = 30.0,
    retry_delay: float = 0.5,
    give_up_after: float = 600.0,
    tls: ssl_lib.SSLContext | None = None,
    on_ack: Callable[[int], None] | None = None,
) -> SendReport:
    """Send `messages` in order; returns once every one is ACKed (AA, AE or AR: an engine
    does not resend a message the receiver refused). SendFailed after `give_up_after`
    seconds without an answer. `on_ack(n)` is called with the number of messages answered
    so far after each ACK."""
    report = SendReport()
    ids = [control_id_of(decode(m).replace("\n", "\r")) for m in messages]
    done = 0  # messages[:done] are answered
    last_progress = time.monotonic()
    while done < len(messages):
        if time.monotonic() - last_progress > give_up_after:
            raise SendFailed(f"no answer from {host}:{port} for {give_up_after:.0f} s")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=tls), timeout
            )
        except (OSError, TimeoutError):
            await asyncio.sleep(retry_delay)
            continue
        report.connections += 1
        inflight: deque[int] = deque()
        nxt = done
        try:
            while done < len(messages):
                while len(inflight) < window and nxt < len(messages):
                    writer.write(frame(messages[nxt]))
                    report.sent += 1
                    inflight.append(nxt)
                    nxt += 1
                await writer.drain()
                block = await asyncio.wait_for(reader.readuntil(END), timeout)
                code, cid, text = read_ack(unframe(block))
                expected = inflight[0]
                if cid != ids[expected]:
                    continue  # an ACK of a message sent on an earlier connection: ignore
                inflight.popleft()
                report.acks.append((code, cid, text))
                done = expected + 1
                last_progress = time.monotonic()
                if on_ack is not None:
                    on_ack(done)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl_lib.SSLError):
            await asyncio.sleep(retry_delay)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl_lib.SSLError):
                await writer.wait_closed()
    return report
