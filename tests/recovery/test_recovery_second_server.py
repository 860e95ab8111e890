"""Back-entry against a FHIR server no one here wrote (Medplum's FhirRouter over its
MemoryRepository; tests/support/second_server): the same journal filed exactly once, read
back by identifier, a conflict kept. docs/recovery.md#tested-against says what differed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from standby.bench import backentry_journal as bj
from standby.journal import repository
from standby.journal.entries import Kind
from standby.recovery import execute, state
from standby.recovery.plan import make_plan
from standby.recovery.state import Status
from standby.store import open_store
from standby.sync.http import FhirClient
from support.recovery_support import DOWNTIME_START, HOSPITAL_AT, copies_at_ehr, identifiers
from support.second_server.medplum import FhirAdmin, SecondServer

pytestmark = pytest.mark.second_server


@pytest.mark.parametrize(
    "transactions",
    [None, True],
    ids=["as-its-capabilities-say", "transactions-forced"],
)
def test_back_entry_into_medplum(tmp_path: Path, transactions: bool | None) -> None:
    """`None`: as its CapabilityStatement says (it lists no `transaction`: single
    requests). `True`: transaction Bundles anyway, which this router (without its
    `transactions` option) runs as a batch: a refused entry comes back inside a 200, and
    back-entry must send that Bundle's entries one by one."""
    expect_transactions = bool(transactions)
    patients = 4
    # the hospital as NDJSON for the server, and the same into the replica
    seed = open_store(db=tmp_path / "seed.db")
    bj.hospital(seed, patients, at=HOSPITAL_AT)
    lines = {"Patient": [], "Encounter": []}  # type: dict[str, list[str]]
    for rtype in lines:
        lines[rtype] = [r.body.decode() for r in seed.iter_type(rtype)]
    seed.close()
    files = []
    for rtype, rows in lines.items():
        f = tmp_path / f"{rtype}.ndjson"
        f.write_text("\n".join(rows) + "\n")
        files.append(f)
    entries = bj.journal(patients, 8, DOWNTIME_START, registrations=2)
    regs = [e.id for e in entries if e.kind is Kind.REGISTRATION]
    with SecondServer(files) as server:
        admin = FhirAdmin(server.base_url)
        replica = open_store(db=tmp_path / "replica.db")
        # the replica holds the encounters as the server serves them (their versions)
        for rtype in ("Patient", "Encounter"):
            for res in admin.search(rtype):
                replica.upsert(httpx.Response(200, json=res).content)
        repository.append(replica, entries)
        # someone changes one transferred patient's encounter at the EHR after the
        # clinician saw it: that transfer must become a conflict, nothing overwritten
        transfer = next(e for e in entries if e.kind is Kind.TRANSFER)
        enc = admin.read("Encounter", transfer.encounter_id or "")
        assert enc is not None
        enc["status"] = "onleave"
        changed = admin.put(enc)
        with FhirClient(server.base_url, rate=0) as client:
            result = execute.run(
                replica,
                client,
                decisions_of=lambda s: dict.fromkeys(regs),
                node="n1",
                transactions=transactions,
            )
        assert result.stopped is None
        assert result.transactions is expect_transactions
        got = state.get(replica, transfer.id)
        assert got is not None and got.status is Status.CONFLICT, got
        assert admin.read("Encounter", changed["id"]) == changed
        plan = make_plan(entries, seen={}, decisions=dict.fromkeys(regs), transactions=True)
        by_type = identifiers(plan)
        seen = copies_at_ehr(server.base_url, by_type)
        wanted = [i for ids in by_type.values() for i in ids]
        # what the conflict (and anything built on it) did not file is not at the EHR
        unfiled = {
            w.identifier
            for s in plan.steps
            if state.get(replica, s.entry_id).status is not Status.CONFIRMED  # type: ignore[union-attr]
            for w in s.writes
        }
        assert all(seen[i] == 1 for i in wanted if i not in unfiled)
        assert all(seen[i] == 0 for i in unfiled)
        totals = state.totals(replica)
        assert totals["confirmed"] + totals["conflict"] == len(plan.steps)
        # a second run files nothing twice
        with FhirClient(server.base_url, rate=0) as client:
            again = execute.run(
                replica,
                client,
                decisions_of=lambda s: dict.fromkeys(regs),
                node="n1",
                transactions=transactions,
            )
        assert again.confirmed == 0
        assert copies_at_ehr(server.base_url, by_type) == seen
        replica.close()
        admin.close()
