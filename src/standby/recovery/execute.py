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

import copy
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from standby import clock
from standby.journal.fhir_mapping import URI_SYSTEM
from standby.recovery import facts, state
from standby.recovery.plan import PatientPlan, Plan, Step, Write, make_plan
from standby.recovery.state import Enrolment, Status, Written
from standby.store.base import Store
from standby.sync.auth import AuthError
from standby.sync.http import FhirClient, SourceError

log = logging.getLogger("standby.recovery")

FHIR_JSON = "application/fhir+json"
#: Answers back-entry reads itself rather than the client raising: success, and the
#: refusals that decide an entry's status (the client still retries 429 and 5xx).
ANSWERS = (200, 201, 400, 403, 404, 405, 409, 410, 412, 422)
CONFLICT_STATUSES = (409, 412)
IDENTIFIERS_PER_SEARCH = 50

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


class Stop(Exception):
    """The run cannot go on (the EHR does not answer, or refuses our credentials)."""


class LostLease(Exception):
    """Another runner took over this patient (our lease ended): leave the patient to it."""


@dataclass
class RunResult:
    run_id: str
    transactions: bool
    enrolled: int = 0
    patients: int = 0
    busy_elsewhere: int = 0  # patients another runner held the lease of
    confirmed: int = 0
    conflict: int = 0
    rejected: int = 0
    held: int = 0
    unconfirmed: int = 0  # sent, not read back yet: sent again by the next run
    stopped: str | None = None
    # filed, then struck or corrected in the journal: the EHR still holds them (by hand)
    withdrawn_after_filing: list[str] = field(default_factory=list)
    left_out: Mapping[str, int] = field(default_factory=dict)
    notes: Sequence[str] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, what: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + n)

    def as_json(self) -> dict[str, Any]:
        return {
            k: v for k, v in vars(self).items() if not k.startswith("_") and k != "left_out"
        } | {"left_out": dict(self.left_out), "notes": list(self.notes)}


@dataclass(frozen=True)
class Refusal:
    status: Status  # CONFLICT or REJECTED
    error: str
    outcome: dict[str, Any] | None


def _outcome(r: httpx.Response) -> dict[str, Any] | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return (
        body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
    )


def _refusal(r: httpx.Response, what: str) -> Refusal:
    oo = _outcome(r)
    text = ""
    if oo:
        text = "; ".join(
            str(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code"))
            for i in oo.get("issue") or []
            if isinstance(i, dict)
        )
    status = Status.CONFLICT if r.status_code in CONFLICT_STATUSES else Status.REJECTED
    return Refusal(status, f"{what} → HTTP {r.status_code}: {text}".strip(": "), oo)


def _substitute(node: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: refs.get(v, v) if k == "reference" and isinstance(v, str) else _substitute(v, refs)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_substitute(v, refs) for v in node]
    return node


def holds(theirs: Any, ours: Any) -> bool:
    """Whether the EHR's resource holds everything we wrote (it may add to it: meta, text,
    extensions)."""
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(
            k in ("meta", "text") or (k in theirs and holds(theirs[k], v)) for k, v in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(theirs) == len(ours)
            and all(holds(a, b) for a, b in zip(theirs, ours, strict=True))
        )
    return bool(theirs == ours)


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
        state.start_run(self.store, result.run_id, self.node, self.now(), drill=drill)
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
        state.finish_run(self.store, result.run_id, self.now(), result.as_json())
        return result

    def _patient(self, p: PatientPlan, transactions: bool, result: RunResult) -> None:
        if self._stop:
            return
        ids = [s.entry_id for s in p.steps]
        now = self.now()
        st = state.of_entries(self.store, ids)
        if not any(b.status in (*state.OPEN, Status.HELD) for b in st.values()):
            return
        if not state.claim(self.store, p.patient_key, self.holder, now, self.lease):
            result.add("busy_elsewhere")
            return
        try:
            result.add("patients")
            _PatientRun(self, p, transactions, result).file()
        except Stop as e:
            self._stop = str(e)
        except LostLease:
            result.add("busy_elsewhere")
        finally:
            state.release(self.store, p.patient_key, self.holder)

    def renew(self, patient_key: str) -> None:
        if not state.claim(self.store, patient_key, self.holder, self.now(), self.lease):
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


class _PatientRun:
    """One patient's open entries, filed under the lease."""

    def __init__(self, ex: Executor, p: PatientPlan, transactions: bool, result: RunResult):
        self.ex = ex
        self.store = ex.store
        self.p = p
        self.transactions = transactions
        self.result = result
        self.by = ex.holder
        st = state.of_entries(self.store, [s.entry_id for s in p.steps])
        self.status: dict[str, Status] = {k: v.status for k, v in st.items()}
        self.written: dict[str, list[Written]] = {
            k: v.written for k, v in st.items() if v.status is Status.CONFIRMED
        }
        self.refs: dict[str, str] = {}  # urn:uuid → Type/id the EHR gave
        for ws in self.written.values():
            self._learn(ws)

    def _learn(self, written: Iterable[Written]) -> None:
        for w in written:
            if w.resource_type != "Provenance":
                self.refs.setdefault(w.identifier, w.reference)

    def _set(self, entry_id: str, status: Status) -> None:
        self.status[entry_id] = status

    # ---- what to send ------------------------------------------------------------------
    def file(self) -> None:
        now = self.ex.now()
        if self.p.held:
            for s in self.p.steps:
                if self.status.get(s.entry_id) is Status.PENDING:
                    state.mark_held(self.store, s.entry_id, self.p.held, now, self.by)
                if self.status.get(s.entry_id) in (Status.PENDING, Status.HELD):
                    self.result.add("held")
            return
        for s in self.p.steps:
            if self.status.get(s.entry_id) is Status.HELD and state.release_held(
                self.store, s.entry_id, now, self.by
            ):
                self._set(s.entry_id, Status.PENDING)
        todo: list[Step] = []
        for s in self.p.steps:
            if self.status.get(s.entry_id) not in state.OPEN:
                continue
            if s.problem:
                state.mark_rejected(self.store, s.entry_id, s.problem, now, self.by)
                self._set(s.entry_id, Status.REJECTED)
                self.result.add("rejected")
                continue
            todo.append(s)
        if self.transactions:
            for chunk in self._chunks(todo):
                self.ex.renew(self.p.patient_key)
                self._transaction(chunk)
        else:
            for s in todo:
                self.ex.renew(self.p.patient_key)
                self._single(s)

    def _blocked(self, s: Step, pending_ok: bool) -> str | None:
        """Why `s` cannot be sent yet: an entry it names is not filed (and, for single
        requests, not filed before it)."""
        for n in s.needs:
            got = self.status.get(n)
            if got is Status.CONFIRMED or (pending_ok and got in state.OPEN):
                continue
            return f"waits for entry {n}, which is {got.value if got else 'not in the plan'}"
        return None

    def _chunks(self, steps: list[Step]) -> Iterable[list[Step]]:
        chunk: list[Step] = []
        created: set[str] = set()
        entries: set[str] = set()
        for s in steps:
            depends = any(
                w.method == "PUT"
                and not w.is_provenance
                and (w.target in created or (w.if_match_after or "") in entries)
                for w in s.writes
            )
            if chunk and (depends or len(chunk) >= self.ex.per_tx):
                yield chunk
                chunk, created, entries = [], set(), set()
            chunk.append(s)
            entries.add(s.entry_id)
            created.update(w.identifier for w in s.writes if w.method == "POST")
        if chunk:
            yield chunk

    def _version(self, w: Write, target: str) -> str | None:
        if w.if_match:
            return w.if_match
        if w.if_match_after:
            for x in self.written.get(w.if_match_after, []):
                if x.reference == target:
                    return x.version_id
        return None

    def _target(self, w: Write) -> str | None:
        assert w.target is not None
        return self.refs.get(w.target, None if w.target.startswith("urn:") else w.target)

    def _put_body(self, w: Write, target: str) -> dict[str, Any]:
        body = _substitute(copy.deepcopy(w.resource), self.refs)
        body["id"] = target.split("/", 1)[1]
        return body

    # ---- a transaction ------------------------------------------------------------------
    def _transaction(self, chunk: list[Step]) -> None:
        now = self.ex.now()
        ready: list[Step] = []
        for s in chunk:
            why = self._blocked(s, pending_ok=True)
            if why is None and any(
                w.method == "PUT" and not w.is_provenance and self._target(w) is None
                for w in s.writes
            ):
                why = "the encounter it changes is not filed yet"
            if why:
                if state.mark_held(self.store, s.entry_id, why, now, self.by):
                    self._set(s.entry_id, Status.HELD)
                    self.result.add("held")
                continue
            if self._unversioned(s):
                continue
            ready.append(s)
        if not ready:
            return
        # what the Bundle creates is referred to by its fullUrl; the rest by the EHR's ids
        refs = dict(self.refs)
        for s in ready:
            for w in s.writes:
                if w.method == "POST":
                    refs.setdefault(w.identifier, w.full_url)
        entries: list[dict[str, Any]] = []
        for s in ready:
            for w in s.writes:
                if w.method == "POST":
                    entries.append(
                        {
                            "fullUrl": w.full_url,
                            "resource": _substitute(copy.deepcopy(w.resource), refs),
                            "request": {
                                "method": "POST",
                                "url": w.resource_type,
                                "ifNoneExist": w.if_none_exist,
                            },
                        }
                    )
                else:
                    target = self._target(w)
                    assert target is not None
                    request: dict[str, Any] = {"method": "PUT", "url": target}
                    version = self._version(w, target)
                    if version and not w.is_provenance:
                        request["ifMatch"] = f'W/"{version}"'
                    body = _substitute(self._put_body(w, target), refs)
                    entries.append({"resource": body, "request": request})
        for s in ready:
            state.mark_sent(self.store, s.entry_id, now, self.by)
            self._set(s.entry_id, Status.SENT)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = self.ex.send("POST", "", bundle)
        if r.status_code == 200 and _all_ok(r):
            self._confirm(ready)
            return
        # refused as a whole, or (a server that runs a transaction as a batch) in part
        log.info(
            "transaction refused: sending its entries one by one",
            extra={"status": r.status_code, "patient": self.p.patient_key},
        )
        for s in ready:
            self._single(s)

    # ---- single requests ----------------------------------------------------------------
    def _single(self, s: Step) -> None:
        now = self.ex.now()
        why = self._blocked(s, pending_ok=False)
        if why:
            if state.mark_held(self.store, s.entry_id, why, now, self.by):
                self._set(s.entry_id, Status.HELD)
                self.result.add("held")
            return
        if self._unversioned(s):
            return
        state.mark_sent(self.store, s.entry_id, now, self.by)
        self._set(s.entry_id, Status.SENT)
        refused = self._send_step(s)
        if refused is None:
            self._confirm([s])
            return
        mark = state.mark_conflict if refused.status is Status.CONFLICT else state.mark_rejected
        mark(self.store, s.entry_id, refused.error, self.ex.now(), self.by, outcome=refused.outcome)
        self._set(s.entry_id, refused.status)
        self.result.add(refused.status.value)

    def _unversioned(self, s: Step) -> bool:
        """An update is never sent without `If-Match`. When the version it builds on is
        not known: True, and the entry is left for the next run (the entry it follows is
        still on its way) or made a conflict (that entry will not be filed as planned)."""
        for w in s.writes:
            if w.method != "PUT" or w.is_provenance:
                continue
            target = self._target(w)
            if target is not None and self._version(w, target):
                continue
            after = w.if_match_after
            got = self.status.get(after) if after else None
            if got in state.OPEN:
                state.record_error(
                    self.store, s.entry_id, f"waits for entry {after} to be filed", self.ex.now()
                )
                self.result.add("unconfirmed")
                return True
            why = (
                f"builds on entry {after}, which is {got.value if got else 'not filed'}:"
                " a person decides"
                if after
                else f"no version of {w.target} to update"
            )
            state.mark_conflict(self.store, s.entry_id, why, self.ex.now(), self.by)
            self._set(s.entry_id, Status.CONFLICT)
            self.result.add("conflict")
            return True
        return False

    def _send_step(self, s: Step) -> Refusal | None:
        for w in s.writes:
            if w.method == "POST":
                body = _substitute(copy.deepcopy(w.resource), self.refs)
                r = self.ex.send("POST", w.resource_type, body, {"If-None-Exist": w.if_none_exist})
                if r.status_code not in (200, 201):
                    return _refusal(r, f"create {w.resource_type}")
                made = _id_of(r, w.resource_type)
                if made:
                    self.refs[w.identifier] = f"{w.resource_type}/{made}"
                continue
            target = self._target(w)
            if target is None:
                return Refusal(Status.REJECTED, f"{w.target} is not filed", None)
            body = self._put_body(w, target)
            version = self._version(w, target)
            headers = {"If-Match": f'W/"{version}"'} if version and not w.is_provenance else {}
            r = self.ex.send("PUT", target, body, headers)
            if r.status_code in (200, 201):
                continue
            if (
                r.status_code in CONFLICT_STATUSES
                and not w.is_provenance
                and self._own_version(target, body) is not None
            ):
                continue  # our own update, sent before (its answer was lost)
            return _refusal(r, f"update {target}")
        return None

    def _own_version(self, target: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The version of `target` that holds what we wrote: the current one, or (when a
        later update, ours or someone else's, followed it) one in its history; None when
        no version does (or the EHR keeps no history and the current one does not)."""
        r = self.ex.send("GET", target)
        if r.status_code != 200:
            return None
        current = r.json()
        if holds(current, body):
            return dict(current)
        h = self.ex.send("GET", f"{target}/_history")
        if h.status_code != 200:
            return None
        for e in h.json().get("entry") or []:
            res = e.get("resource") if isinstance(e, dict) else None
            if isinstance(res, dict) and holds(res, body):
                return res
        return None

    # ---- read back ----------------------------------------------------------------------
    def _confirm(self, steps: list[Step]) -> None:
        creates: dict[str, list[str]] = {}
        for s in steps:
            for w in s.writes:
                if w.method == "POST":
                    creates.setdefault(w.resource_type, []).append(w.identifier)
        found: dict[str, list[dict[str, Any]]] = {}
        for rtype, idents in creates.items():
            for i in range(0, len(idents), IDENTIFIERS_PER_SEARCH):
                part = idents[i : i + IDENTIFIERS_PER_SEARCH]
                query = [
                    ("identifier", ",".join(f"{URI_SYSTEM}|{v}" for v in part)),
                    ("_count", str(len(part) * 2 + 10)),
                ]
                for res in self.ex.search_json(rtype, query):
                    for ident in res.get("identifier") or []:
                        if ident.get("system") == URI_SYSTEM and ident.get("value") in part:
                            found.setdefault(str(ident["value"]), []).append(res)
        provenances = [w for s in steps for w in s.writes if w.is_provenance]
        have_prov: dict[str, dict[str, Any]] = {}
        for i in range(0, len(provenances), IDENTIFIERS_PER_SEARCH):
            ids = [str(w.resource["id"]) for w in provenances[i : i + IDENTIFIERS_PER_SEARCH]]
            query = [("_id", ",".join(ids)), ("_count", str(len(ids) + 10))]
            for res in self.ex.search_json("Provenance", query):
                have_prov[str(res.get("id"))] = res
        now = self.ex.now()
        for s in steps:
            written: list[Written] = []
            missing: list[str] = []
            duplicated: list[str] = []
            for w in s.writes:
                if w.method == "POST":
                    hits = found.get(w.identifier, [])
                    if len(hits) == 1:
                        written.append(_written(hits[0], w.identifier))
                    elif hits:
                        duplicated.append(f"{w.resource_type} {w.identifier} ×{len(hits)}")
                    else:
                        missing.append(f"{w.resource_type} {w.identifier}")
                elif w.is_provenance:
                    got = have_prov.get(str(w.resource["id"]))
                    if got is None:
                        missing.append(f"Provenance/{w.resource['id']}")
                    else:
                        written.append(_written(got, w.identifier))
                else:
                    target = self._target(w)
                    own = self._own_version(target, self._put_body(w, target)) if target else None
                    if own is not None:
                        written.append(_written(own, w.identifier))
                    else:
                        missing.append(f"the update of {target}")
            if duplicated:
                error = "the EHR holds more than one copy: " + ", ".join(duplicated)
                state.mark_conflict(self.store, s.entry_id, error, now, self.by)
                self._set(s.entry_id, Status.CONFLICT)
                self.result.add("conflict")
            elif missing:
                state.record_error(
                    self.store, s.entry_id, "not found when read back: " + ", ".join(missing), now
                )
                self.result.add("unconfirmed")
            elif state.mark_confirmed(self.store, s.entry_id, written, now, self.by):
                self._set(s.entry_id, Status.CONFIRMED)
                self.written[s.entry_id] = written
                self._learn(written)
                self.result.add("confirmed")


def _all_ok(r: httpx.Response) -> bool:
    """Whether every entry of a transaction-response succeeded (a server that does not
    run transactions atomically may answer 200 with failed entries)."""
    try:
        body = r.json()
    except ValueError:
        return False
    entries = body.get("entry") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return False
    for e in entries:
        status = str(((e or {}).get("response") or {}).get("status", ""))
        if not status.strip().startswith("2"):
            return False
    return True


def _written(res: Mapping[str, Any], identifier: str) -> Written:
    meta = res.get("meta") or {}
    return Written(
        str(res.get("resourceType")),
        str(res.get("id")),
        str(meta["versionId"]) if meta.get("versionId") is not None else None,
        identifier,
    )


def _id_of(r: httpx.Response, rtype: str) -> str | None:
    try:
        body = r.json()
        if isinstance(body, dict) and body.get("id"):
            return str(body["id"])
    except ValueError:
        pass
    location = r.headers.get("Location") or r.headers.get("Content-Location") or ""
    parts = location.split("/_history", 1)[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == rtype:
        return parts[-1]
    return None


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
