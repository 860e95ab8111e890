"""FHIR wins when it arrives: what the HL7 v2 feed wrote first under its own id, FHIR sync
supersedes when it brings the same thing under the EHR's id (docs/hl7.md, "Which source
wins").

For each resource the sync writes, the feed's copy is looked for at the id the feed gives
each of its identifiers (`fhir.data_source.feed_id`: one read by primary key); a held copy
that came by feed is tombstoned in the sync's transaction (a DiagnosticReport's
Observations with it: the EHR's report brings its own), and what the feed wrote in the
patient's compartment that refers to the copy is made to refer to the EHR's resource.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from standby.fhir import administrations
from standby.fhir.data_source import JSON, feed_id, from_feed, identifiers, just_after, rewritten
from standby.store.base import Store, StoredResource
from standby.store.search_any import search_any

# Tombstones of superseded copies: their versionId starts with this
SUPERSEDED = "superseded-"


class Plan:
    """Tombstones and rewritten versions, to write in the sync's transaction (`apply`)."""

    def __init__(self) -> None:
        self.tombstones: list[tuple[str, str, str, str]] = []  # type, id, versionId, lastUpdated
        self.rewrites: list[bytes] = []

    def __bool__(self) -> bool:
        return bool(self.tombstones or self.rewrites)

    def retire(self, held: StoredResource) -> None:
        self.tombstones.append(
            (
                held.resource_type,
                held.id,
                SUPERSEDED + held.version_id[:40],
                just_after(held.last_updated),
            )
        )

    def apply(self, store: Store) -> None:
        """Write the plan; call inside the transaction that writes the EHR's resources."""
        if self.rewrites:
            store.upsert_many(self.rewrites)
        for rtype, rid, vid, lu in self.tombstones:
            store.tombstone(rtype, rid, version_id=vid, last_updated=lu)


def _held_from_feed(store: Store, rtype: str, rid: str) -> StoredResource | None:
    held = store.read(rtype, rid)
    if held is None or held.deleted or not from_feed(orjson.loads(held.body)):
        return None
    return held


def _patient_of(res: JSON) -> str | None:
    for name in ("subject", "patient"):
        ref = res.get(name)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"]).split("/", 1)[1]
    return None


def superseded(store: Store, incoming: Sequence[JSON]) -> Plan:
    """What writing `incoming` (from FHIR sync) supersedes of the feed's copies."""
    plan = Plan()
    swaps_by_patient: dict[str, dict[str, str]] = {}
    gone: set[tuple[str, str]] = set()
    for res in incoming:
        rtype, rid = res.get("resourceType"), res.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str) or from_feed(res):
            continue
        for system, value in identifiers(res):
            copy_id = feed_id(rtype, system, value)
            if copy_id is None or copy_id == rid or (rtype, copy_id) in gone:
                continue
            held = _held_from_feed(store, rtype, copy_id)
            if held is None:
                continue
            gone.add((rtype, copy_id))
            plan.retire(held)
            copy = orjson.loads(held.body)
            if rtype == "DiagnosticReport":
                for ref in copy.get("result") or []:
                    parts = str(ref.get("reference", "")).split("/", 1)
                    obs = _held_from_feed(store, *parts) if len(parts) == 2 else None
                    if obs is not None:
                        gone.add((obs.resource_type, obs.id))
                        plan.retire(obs)
            patient = copy_id if rtype == "Patient" else _patient_of(copy)
            if patient is not None:
                swaps_by_patient.setdefault(patient, {})[f"{rtype}/{copy_id}"] = f"{rtype}/{rid}"
    doses = administrations.from_the_ehr(incoming)
    if doses:
        by_id = {
            h.id: h
            for h in search_any(
                store, "MedicationAdministration", "request", administrations.orders_of(doses)
            )
        }
        for rid in administrations.feed_copies_of(doses, ((i, h.json()) for i, h in by_id.items())):
            if ("MedicationAdministration", rid) not in gone:
                gone.add(("MedicationAdministration", rid))
                plan.retire(by_id[rid])
    for patient, swaps in swaps_by_patient.items():
        for held in store.compartment(patient):
            if (held.resource_type, held.id) in gone or not from_feed(orjson.loads(held.body)):
                continue
            new = rewritten(held.body, held.version_id, held.last_updated, swaps)
            if new is not None:
                plan.rewrites.append(new)
    return plan
