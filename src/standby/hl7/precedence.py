"""A merge (ADT^A40) moves the retired patient's data to the survivor (docs/hl7.md, "Which
source wins"; what FHIR sync does to the feed's copies is `standby.sync.feed_copies`)."""

from __future__ import annotations

from collections.abc import Sequence

from standby.fhir.data_source import JSON, rewritten
from standby.store.base import Store


def retired_by(resources: Sequence[JSON]) -> list[tuple[str, str]]:
    """(retired patient id, survivor reference) for each Patient a merge's resources retire
    (`active: false`, `link` `replaced-by`)."""
    out: list[tuple[str, str]] = []
    for res in resources:
        if res.get("resourceType") != "Patient" or res.get("active") is not False:
            continue
        for link in res.get("link") or []:
            other = str((link.get("other") or {}).get("reference", ""))
            if link.get("type") == "replaced-by" and other.startswith("Patient/"):
                out.append((str(res["id"]), other))
    return out


def moved_by_merge(store: Store, resources: Sequence[JSON]) -> list[bytes]:
    """New versions of what the replica holds in each retired patient's compartment, with
    every reference to the retired Patient made to the survivor (from either source: the
    EHR's next version of each says the same once it has merged them too). The Patients
    themselves stay as the merge wrote them."""
    out: list[bytes] = []
    for retired, survivor in retired_by(resources):
        swaps = {f"Patient/{retired}": survivor}
        for held in store.compartment(retired):
            if held.resource_type == "Patient":
                continue
            new = rewritten(held.body, held.version_id, held.last_updated, swaps)
            if new is not None:
                out.append(new)
    return out
