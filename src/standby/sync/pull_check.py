"""Checking a patient's first (full) pull before the patient is marked pulled.

A patient marked pulled is never fetched in full again, so a pull that silently missed
data would lose it for good (a server that reads a search differently from us returns
fewer matches, and nothing fails). Two checks, on every search of a pull group:

* evidence: a patient is on the census because an Encounter or an Appointment names them;
  the pull's search of that type must return it (or another one of theirs). If it does
  not, the server is not matching the search as we mean it.
* counts: the same search with `_summary=count` (search.html#summary), limited to what
  was last updated by the source's clock when the pull began (`_lastUpdated=le<its Date
  + 1 s>`, the header's resolution, so that changes made while the round ran do not
  count), must not count more than the pull
  received. From another Standby (an edge node's central node), whose resources keep the
  EHR's `lastUpdated` and reach it late, the limit is its "data as of" instead when that
  is earlier: what it holds up to then is complete, a change still arriving is not. A
  server that does not answer `_summary=count` with a total is not counted
  (the evidence check still applies).

A group that fails either check is not marked pulled (it is pulled again next round), and
its searches count as failed, so the round is not `ok` and status says why.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from standby.sync.census import instant
from standby.sync.checkpoints import pulled_patients
from standby.sync.http import FhirClient, SourceError

log = logging.getLogger("standby.sync.pull_check")

JSON = dict[str, Any]


EVIDENCE_TYPES = ("Encounter", "Appointment")


class PullResult(Protocol):
    """What the check needs of a search's result (incremental.SearchResult)."""

    ok: bool
    error: str | None
    resources: list[dict[str, object]]  # kept for the searches `keeps` names

    @property
    def request(self) -> Any: ...

    @property
    def stats(self) -> Any: ...

    @property
    def date(self) -> Any: ...  # the source's Date at the first page (datetime, or None)

    @property
    def upstream_as_of(self) -> Any: ...  # another Standby's "data as of" then (or None)


def keeps(req: Any) -> bool:
    """Whether a search's resources are kept for the evidence check: the first pull's
    Encounter and Appointment searches (few resources per patient)."""
    return bool(req.stream.startswith("pull:") and req.resource_type in EVIDENCE_TYPES)


def received(r: PullResult) -> int:
    """The matches a search received (written, unchanged or set aside)."""
    s = r.stats
    return int(s.written + s.unchanged + s.quarantined)


def refs(r: PullResult) -> set[str]:
    return {f"{x.get('resourceType')}/{x.get('id')}" for x in r.resources}


def _patient(reference: Any) -> str | None:
    if isinstance(reference, dict):
        ref = reference.get("reference")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return ref.split("/", 2)[1] or None
    return None


def census_evidence(resources: Iterable[JSON]) -> dict[str, set[str]]:
    """Patient id → the `Encounter/x` and `Appointment/y` that name them (census answers)."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in resources:
        rtype, rid = r.get("resourceType"), r.get("id")
        if not isinstance(rid, str):
            continue
        if rtype == "Encounter":
            pid = _patient(r.get("subject"))
            if pid:
                out[pid].add(f"Encounter/{rid}")
        elif rtype == "Appointment":
            for p in r.get("participant") or []:
                pid = _patient((p or {}).get("actor"))
                if pid:
                    out[pid].add(f"Appointment/{rid}")
    return dict(out)


def evidence_problems(
    results: Sequence[PullResult], evidence: Mapping[str, set[str]]
) -> dict[str, str]:
    """Pull group → why it cannot be trusted, by the evidence check."""
    problems: dict[str, str] = {}
    for r in results:
        req = r.request
        pids = pulled_patients(req.stream)
        if not pids or not r.ok or req.resource_type not in EVIDENCE_TYPES:
            continue
        got = refs(r)
        for pid in pids:
            wanted = {e for e in evidence.get(pid, ()) if e.startswith(req.resource_type + "/")}
            if wanted and not wanted & got:
                problems[req.stream] = (
                    f"the full pull's {req.resource_type} search did not return "
                    f"{sorted(wanted)[0]}, which names the patient: the source does not "
                    "match the search as sent"
                )
                break
    return problems


def count_problems(
    client: FhirClient,
    results: Sequence[PullResult],
    run: Callable[[Callable[[PullResult], str | None], Sequence[PullResult]], Iterable[Any]],
) -> dict[str, str]:
    """Pull group → why it cannot be trusted, by `_summary=count` (run on `run`, a map)."""
    todo = [r for r in results if r.ok and pulled_patients(r.request.stream)]
    unsupported: list[str] = []

    def check(r: PullResult) -> str | None:
        if unsupported:
            return None
        params = [(k, v) for k, v in r.request.params if k != "_count"] + [("_summary", "count")]
        bound = r.date
        if r.upstream_as_of is not None and (bound is None or r.upstream_as_of < bound):
            bound = r.upstream_as_of
        if bound is not None:
            params.append(("_lastUpdated", f"le{instant(bound + timedelta(seconds=1))}"))
        try:
            body = client.get_json(r.request.resource_type, params=params)
        except SourceError as e:
            if not unsupported:
                log.info("_summary=count not answered: counts not checked", extra={"error": str(e)})
            unsupported.append(str(e))
            return None
        total, n = body.get("total"), received(r)
        if not isinstance(total, int) or total <= n:
            return None
        return (
            f"the full pull's {r.request.resource_type} search returned {n},"
            f" but the source counts {total} (_summary=count)"
        )

    problems: dict[str, str] = {}
    for r, why in zip(todo, run(check, todo), strict=True):
        if why and r.request.stream not in problems:
            problems[r.request.stream] = why
    return problems


def check_pulls(
    client: FhirClient,
    results: Sequence[PullResult],
    evidence: Mapping[str, set[str]],
    run: Callable[[Callable[[PullResult], str | None], Sequence[PullResult]], Iterable[Any]] = map,
) -> list[str]:
    """Mark the searches of untrusted pull groups failed (with the reason); the reasons."""
    problems = evidence_problems(results, evidence)
    more = count_problems(client, [r for r in results if r.request.stream not in problems], run)
    problems.update(more)
    for r in results:
        why = problems.get(r.request.stream)
        if why and r.ok:
            n = len(pulled_patients(r.request.stream))
            r.ok, r.error = False, f"first pull of {n} patient(s) not verified: {why}"
    return [f"first pull of {len(pulled_patients(g))} patient(s): {w}" for g, w in problems.items()]
