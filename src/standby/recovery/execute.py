"""Carrying out the back-entry plan over HTTP (docs/recovery.md#running-it).

One patient at a time per worker, under that patient's lease (`state.claim`): the entries
still open (`pending`, `sent`) are marked `sent`, written, then read back from the EHR by
their identifiers; what the EHR holds exactly once becomes `confirmed`, with the ids and
versions it gave. A 409/412 is a `conflict` (nothing is overwritten), another 4xx
`rejected` with the EHR's OperationOutcome kept. Where the EHR takes transaction Bundles,
a patient's entries go as one (at most `entries_per_transaction` entries each; an update
that builds on a write of the same Bundle starts the next one); a transaction the EHR
refuses is sent again as single requests, in order, so that one refused entry does not
hold up the others. Without transactions: single requests in the plan's order.

Resumable at any point: a runner killed after it sent and before it recorded leaves the
entry `sent`; the next run sends it again, and the EHR's conditional create finds it
(`If-None-Exist`), so it is filed once. An update sent again finds its own version gone
(412): the Encounter is read, and if it already holds what the entry wrote, the entry is
confirmed; if it holds anything else, it is a conflict.

Requests go through sync's `FhirClient`: its auth, rate limit and retries (429/503 with
Retry-After, connection errors and 5xx with backoff). When retries run out the run stops
(the EHR is not answering): entries keep their status for the next run.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from standby import clock
from standby.recovery import facts, leases, runs, state
from standby.recovery.answers import ANSWERS, FHIR_JSON
from standby.recovery.filing import PatientFiling
from standby.recovery.plan import PatientPlan, Plan, make_plan
from standby.recovery.results import LostLease, RunResult, Stop
from standby.recovery.state import Enrolment, Status
from standby.store.base import Store
from standby.sync.auth import AuthError
from standby.sync.http import FhirClient, SourceError

__all__ = ["Executor", "RunResult", "Stop", "discover_transactions", "run", "transaction_support"]

log = logging.getLogger("standby.recovery")

Decisions = Mapping[str, str | None]


def transaction_support(statement: Mapping[str, Any]) -> bool:
    """Whether a CapabilityStatement lists the `transaction` interaction
    (https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.interaction)."""
    for rest in statement.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
            continue
        for i in rest.get("interaction") or []:
            if isinstance(i, dict) and i.get("code") == "transaction":
                return True
    return False


def discover_transactions(client: FhirClient) -> bool:
    """Ask `/metadata`; a server that does not say it takes transactions gets single
    requests (always correct, only slower)."""
    try:
        return transaction_support(client.get_json("metadata"))
    except SourceError as e:
        log.info("cannot read the CapabilityStatement: single requests (%s)", e)
        return False


class Executor:
    """Files a plan. Thread-safe across patients (one worker per patient at a time)."""

    def __init__(
        self,
        store: Store,
        client: FhirClient,
        *,
        node: str,
        lease: timedelta = timedelta(seconds=120),
        entries_per_transaction: int = 200,
        workers: int = 1,
        now: Callable[[], datetime] = clock.now,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.node = node
        self.lease = lease
        self.per_tx = max(1, entries_per_transaction)
        self.workers = max(1, workers)
        self.now = now
        self.holder = holder or f"{node}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._stop: str | None = None

    # ---- the run -------------------------------------------------------------------------
    def run(self, plan: Plan, *, drill: bool = False) -> RunResult:
        result = RunResult(
            uuid.uuid4().hex, plan.transactions, left_out=plan.left_out, notes=plan.notes
        )
        runs.start_run(self.store, result.run_id, self.node, self.now(), drill=drill)
        filed = state.ids_in(self.store, "confirmed")
        result.withdrawn_after_filing = sorted(plan.withdrawn & filed)
        result.enrolled = state.enroll(
            self.store,
            [Enrolment(s.entry_id, s.kind, s.patient_key, s.performed_at) for s in plan.steps],
            self.now(),
            self.holder,
        )
        if self.workers == 1:
            for p in plan.patients:
                if self._stop:
                    break
                self._patient(p, plan.transactions, result)
        else:
            with ThreadPoolExecutor(self.workers) as pool:
                for _ in pool.map(
                    lambda p: self._patient(p, plan.transactions, result), plan.patients
                ):
                    pass
        result.stopped = self._stop
        runs.finish_run(self.store, result.run_id, self.now(), result.as_json())
        return result

    def _patient(self, p: PatientPlan, transactions: bool, result: RunResult) -> None:
        if self._stop:
            return
        ids = [s.entry_id for s in p.steps]
        now = self.now()
        st = state.of_entries(self.store, ids)
        if not any(b.status in (*state.OPEN, Status.HELD) for b in st.values()):
            return
        if not leases.claim(self.store, p.patient_key, self.holder, now, self.lease):
            result.add("busy_elsewhere")
            return
        try:
            result.add("patients")
            PatientFiling(self, p, transactions, result).file()
        except Stop as e:
            self._stop = str(e)
        except LostLease:
            result.add("busy_elsewhere")
        finally:
            leases.release(self.store, p.patient_key, self.holder)

    def renew(self, patient_key: str) -> None:
        if not leases.claim(self.store, patient_key, self.holder, self.now(), self.lease):
            raise LostLease(patient_key)

    # ---- HTTP ----------------------------------------------------------------------------
    def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        h = (
            {"Content-Type": FHIR_JSON, **(headers or {})}
            if body is not None
            else dict(headers or {})
        )
        try:
            return self.client.request(
                method,
                path,
                content=orjson.dumps(body) if body is not None else None,
                headers=h,
                ok=ANSWERS,
            )
        except AuthError as e:
            raise Stop(f"the EHR refused our credentials: {e}") from e
        except SourceError as e:
            raise Stop(str(e)) from e

    def search_json(self, path: str, params: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every resource a search matches (following `next` links)."""
        out: list[dict[str, Any]] = []
        url: str | None = path
        query: Any = list(params)
        while url:
            try:
                r = self.client.request("GET", url, params=query)
            except AuthError as e:
                raise Stop(f"the EHR refused our credentials: {e}") from e
            except SourceError as e:
                raise Stop(str(e)) from e
            bundle = r.json()
            out.extend(
                e["resource"]
                for e in bundle.get("entry") or []
                if isinstance(e, dict)
                and isinstance(e.get("resource"), dict)
                and (e.get("search") or {}).get("mode", "match") == "match"
            )
            url = next(
                (lk.get("url") for lk in bundle.get("link") or [] if lk.get("relation") == "next"),
                None,
            )
            query = None
        return out


def plan_from_store(
    store: Store, *, decisions: Decisions, transactions: bool, drill: bool = False
) -> Plan:
    """The plan of everything in the journal, with the replica's facts."""
    entries = facts.journal(store)
    seen = facts.seen_versions(store, entries)
    return make_plan(
        entries, seen=seen, decisions=decisions, transactions=transactions, drill=drill
    )


def run(
    store: Store,
    client: FhirClient,
    *,
    decisions_of: Callable[[Store], Decisions],
    node: str,
    drill: bool = False,
    transactions: bool | None = None,
    lease: timedelta = timedelta(seconds=120),
    entries_per_transaction: int = 200,
    workers: int = 1,
    now: Callable[[], datetime] = clock.now,
) -> RunResult:
    """Plan from the journal and file it (the body of `standby recover run`)."""
    tx = discover_transactions(client) if transactions is None else transactions
    plan = plan_from_store(store, decisions=decisions_of(store), transactions=tx, drill=drill)
    ex = Executor(
        store,
        client,
        node=node,
        lease=lease,
        entries_per_transaction=entries_per_transaction,
        workers=workers,
        now=now,
    )
    return ex.run(plan, drill=drill)
