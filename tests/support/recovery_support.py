"""Back-entry tests' site: a simulated EHR over real HTTP, a replica holding the same
patients and encounters with a downtime journal, and the checks that count what the EHR
holds (each resource searched by its identifier)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from standby.bench import backentry_journal as bj
from standby.journal import repository
from standby.journal.entries import Entry, Kind
from standby.journal.fhir_mapping import URI_SYSTEM
from standby.recovery import execute
from standby.recovery.plan import Plan, make_plan
from standby.sim.server import ServerHandle, Strictness, run_in_thread
from standby.store import Store, open_store
from standby.sync.http import FhirClient, RetryPolicy

HOSPITAL_AT = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
DOWNTIME_START = HOSPITAL_AT + timedelta(hours=1)


@dataclass
class Site:
    tmp: Path
    ehr: Store
    replica: Store
    base: str
    handle: ServerHandle
    entries: list[Entry]
    stores: list[Store] = field(default_factory=list)

    def client(self, **kw: Any) -> FhirClient:
        kw.setdefault("rate", 0)
        kw.setdefault("policy", RetryPolicy(max_attempts=30, base_delay=0.01, max_delay=0.05))
        kw.setdefault("sleep", lambda s: time.sleep(min(s, 0.02)))
        return FhirClient(self.base, **kw)

    def registrations(self) -> list[str]:
        return [e.id for e in self.entries if e.kind is Kind.REGISTRATION]

    def run(self, decisions: Mapping[str, str | None] | None = None, **kw: Any) -> Any:
        decided = dict(decisions) if decisions is not None else dict.fromkeys(self.registrations())
        with self.client() as client:
            return execute.run(
                self.replica, client, decisions_of=lambda s: decided, node="n1", **kw
            )

    def plan(self, decisions: Mapping[str, str | None] | None = None) -> Plan:
        decided = dict(decisions) if decisions is not None else dict.fromkeys(self.registrations())
        return make_plan(self.entries, seen={}, decisions=decided, transactions=True)

    def close(self) -> None:
        self.handle.stop()
        for s in (self.replica, self.ehr, *self.stores):
            s.close()


def make_site(
    tmp: Path,
    *,
    patients: int = 6,
    hours: float = 8,
    registrations: int = 2,
    strict: str | None = None,
    entries: list[Entry] | None = None,
) -> Site:
    ehr = open_store(db=tmp / "ehr.db")
    bj.hospital(ehr, patients, at=HOSPITAL_AT)
    replica = open_store(db=tmp / "replica.db")
    bj.hospital(replica, patients, at=HOSPITAL_AT)
    made = (
        entries
        if entries is not None
        else bj.journal(patients, hours, DOWNTIME_START, registrations=registrations)
    )
    repository.append(replica, made)
    base, handle = run_in_thread(
        ehr, change_rate=0, strict=Strictness.parse(strict) if strict else None
    )
    return Site(tmp, ehr, replica, base, handle, made)


def identifiers(plan: Plan) -> dict[str, list[str]]:
    """Every created resource's identifier, by type (what must be at the EHR once)."""
    out: dict[str, list[str]] = {}
    for s in plan.steps:
        for w in s.writes:
            if w.method == "POST":
                out.setdefault(w.resource_type, []).append(w.identifier)
    return out


def copies_at_ehr(base: str, by_type: Mapping[str, Iterable[str]]) -> Counter[str]:
    """How many resources at the EHR carry each identifier (searched 40 at a time)."""
    seen: Counter[str] = Counter()
    with httpx.Client(timeout=60) as c:
        for rtype, idents in by_type.items():
            wanted = list(idents)
            for i in range(0, len(wanted), 40):
                part = wanted[i : i + 40]
                r = c.get(
                    f"{base}/{rtype}",
                    params={
                        "identifier": ",".join(f"{URI_SYSTEM}|{v}" for v in part),
                        "_count": "1000",
                    },
                )
                r.raise_for_status()
                for e in r.json().get("entry") or []:
                    for ident in e["resource"].get("identifier") or []:
                        if ident.get("system") == URI_SYSTEM and ident["value"] in part:
                            seen[ident["value"]] += 1
    return seen


def assert_exactly_once(base: str, plan: Plan) -> int:
    """Every resource of the plan is at the EHR exactly once; returns how many."""
    by_type = identifiers(plan)
    seen = copies_at_ehr(base, by_type)
    wanted = [i for ids in by_type.values() for i in ids]
    lost = [i for i in wanted if seen[i] == 0]
    doubled = {i: n for i, n in seen.items() if n > 1}
    assert not lost, f"{len(lost)} lost, e.g. {lost[:3]}"
    assert not doubled, f"{len(doubled)} duplicated, e.g. {list(doubled.items())[:3]}"
    return len(wanted)


def count_type(base: str, rtype: str) -> int:
    r = httpx.get(f"{base}/{rtype}", params={"_summary": "count"}, timeout=30)
    return int(r.json()["total"])
