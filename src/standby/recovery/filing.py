"""Filing one patient's open entries under the patient's lease (docs/recovery.md#running-it):
in transaction Bundles (split where an update builds on a write of the same Bundle) or
single requests in the plan's order; then read back from the EHR by identifier. A
transaction the EHR refuses, or answers with a failed entry, is sent again entry by entry.
An update is never sent without `If-Match`; one whose answer was lost is recognised in
the resource (or its history) instead of being sent over a change."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from standby.journal.fhir_mapping import URI_SYSTEM
from standby.recovery import state
from standby.recovery.answers import (
    CONFLICT_STATUSES,
    Refusal,
    all_ok,
    holds,
    id_from_answer,
    refusal,
    substitute,
    written_from,
)
from standby.recovery.plan import PatientPlan, Step, Write
from standby.recovery.results import RunResult
from standby.recovery.state import Status, Written

if TYPE_CHECKING:
    from standby.recovery.execute import Executor

log = logging.getLogger("standby.recovery")

IDENTIFIERS_PER_SEARCH = 50


class PatientFiling:
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
        body = substitute(copy.deepcopy(w.resource), self.refs)
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
                            "resource": substitute(copy.deepcopy(w.resource), refs),
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
                    body = substitute(self._put_body(w, target), refs)
                    entries.append({"resource": body, "request": request})
        for s in ready:
            state.mark_sent(self.store, s.entry_id, now, self.by)
            self._set(s.entry_id, Status.SENT)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = self.ex.send("POST", "", bundle)
        if r.status_code == 200 and all_ok(r):
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
                body = substitute(copy.deepcopy(w.resource), self.refs)
                r = self.ex.send("POST", w.resource_type, body, {"If-None-Exist": w.if_none_exist})
                if r.status_code not in (200, 201):
                    return refusal(r, f"create {w.resource_type}")
                made = id_from_answer(r, w.resource_type)
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
            return refusal(r, f"update {target}")
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
                        written.append(written_from(hits[0], w.identifier))
                    elif hits:
                        duplicated.append(f"{w.resource_type} {w.identifier} ×{len(hits)}")
                    else:
                        missing.append(f"{w.resource_type} {w.identifier}")
                elif w.is_provenance:
                    got = have_prov.get(str(w.resource["id"]))
                    if got is None:
                        missing.append(f"Provenance/{w.resource['id']}")
                    else:
                        written.append(written_from(got, w.identifier))
                else:
                    target = self._target(w)
                    own = self._own_version(target, self._put_body(w, target)) if target else None
                    if own is not None:
                        written.append(written_from(own, w.identifier))
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
