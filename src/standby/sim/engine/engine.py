"""The simulated EHR's interface engine: what its change feed writes is also sent, as HL7 v2
over MLLP, to a listener (docs/simulated-ehr.md, "Interface-engine mode").

`InterfaceEngine.offer(resources)` is called by the change feed (`Feed.on_written`) with
what it has just written; the engine turns them into messages (messages.py) and keeps them
in order in its outbox. A thread sends the outbox with `standby.hl7.sender.send`, which keeps
`window` messages in flight and sends again whatever was not ACKed, as engines do; a
message leaves the outbox only once ACKed. While the listener cannot be reached, messages
wait.

During the EHR's simulated outage (`Faults.outage`) the EHR's own messages (admissions,
transfers, discharges, administrations) wait in the outbox, as its FHIR API does, but the
lab's results go on: the lab system is not the EHR, and its results keep flowing through
the engine.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from standby.hl7.sender import SendFailed, send
from standby.sim.engine import messages as m
from standby.sim.server.faults import Faults
from standby.store import Store

JSON = dict[str, Any]
log = logging.getLogger("standby.sim.engine")
LAB = "laboratory"


def _is_lab(res: JSON) -> bool:
    return any(
        coding.get("code") == LAB
        for cat in res.get("category") or []
        for coding in cat.get("coding") or []
    )


class InterfaceEngine:
    def __init__(
        self,
        store: Store,
        host: str,
        port: int,
        *,
        faults: Faults | None = None,
        window: int = 20,
        retry_delay: float = 0.5,
    ) -> None:
        self.store = store
        self.host, self.port = host, port
        self.faults = faults or Faults()
        self.window = window
        self.retry_delay = retry_delay
        self.acked: dict[str, int] = {"AA": 0, "AE": 0, "AR": 0}
        self.sent: list[m.Outgoing] = []  # ACKed, oldest first (the last 1,000)
        self._outbox: deque[m.Outgoing] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._run = datetime.now(UTC).strftime("%H%M%S")

    # ---- what the feed wrote -> messages ------------------------------------------------
    def _control_id(self) -> str:
        return f"SIM{self._run}{next(self._ids):07d}"

    def _read(self, rtype: str, ref: JSON | None) -> JSON | None:
        rid = str((ref or {}).get("reference", "")).rsplit("/", 1)[-1]
        if not rid:
            return None
        sr = self.store.read(rtype, rid)
        return None if sr is None or sr.deleted else sr.json()

    def messages_for(self, res: JSON, at: datetime) -> list[m.Outgoing]:
        """The messages one written resource makes (none for what the engine does not send)."""
        rtype = res.get("resourceType")
        if rtype == "Encounter":
            patient = self._read("Patient", res.get("subject"))
            return [m.adt(res, patient, at, self._control_id())] if patient else []
        if rtype == "Observation" and _is_lab(res) and res.get("valueQuantity"):
            patient = self._read("Patient", res.get("subject"))
            enc = self._read("Encounter", res.get("encounter"))
            return [m.oru(res, patient, enc, at, self._control_id())] if patient else []
        if rtype == "MedicationAdministration":
            patient = self._read("Patient", res.get("subject"))
            enc = self._read("Encounter", res.get("context"))
            return [m.ras(res, patient, enc, at, self._control_id())] if patient else []
        return []

    def offer(self, resources: Iterable[JSON], at: datetime | None = None) -> None:
        """Queue the messages of what the change feed has just written."""
        at = at or datetime.now(UTC)
        out = [msg for res in resources for msg in self.messages_for(res, at)]
        if not out:
            return
        with self._lock:
            self._outbox.extend(out)
        self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._outbox)

    # ---- sending --------------------------------------------------------------------------
    def _next_batch(self) -> list[m.Outgoing]:
        """The messages that may go now, in order: all of them, or in an outage the lab's."""
        with self._lock:
            if not self.faults.outage:
                return list(self._outbox)[:500]
            return [x for x in self._outbox if x.from_lab][:500]

    def _done(self, batch: list[m.Outgoing], codes: list[str]) -> None:
        gone = {x.control_id for x in batch[: len(codes)]}
        with self._lock:
            self._outbox = deque(x for x in self._outbox if x.control_id not in gone)
            for code in codes:
                self.acked[code] = self.acked.get(code, 0) + 1
            self.sent.extend(batch[: len(codes)])
            del self.sent[:-1000]

    async def _send_batch(self, batch: list[m.Outgoing]) -> None:
        codes: list[str] = []
        try:
            report = await send(
                [x.data for x in batch],
                self.host,
                self.port,
                window=self.window,
                timeout=10.0,
                retry_delay=self.retry_delay,
                give_up_after=5.0,  # then look again at the outbox and the stop switch
            )
            codes = [code for code, _cid, _text in report.acks]
        except SendFailed as e:
            log.warning("interface engine: %s; %d messages wait", e, self.pending)
        self._done(batch, codes)

    def _loop(self) -> None:
        async def main() -> None:
            while not self._stop.is_set():
                batch = self._next_batch()
                if not batch:
                    await asyncio.to_thread(self._wake.wait, 0.5)
                    self._wake.clear()
                    continue
                await self._send_batch(batch)

        asyncio.run(main())

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="sim-engine")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
