"""The journal as the read model sees it: what stands of a patient's entries, as FHIR
resources beside the replica's (pure).

"One view of truth": the census, the summary, the MAR and the packets read the replica's
resources plus these. A dose given during downtime is then a MedicationAdministration of
the order like any other, so the MAR counts it as given and computes the next dose from
it; vital signs, notes, allergies and orders appear where the EHR's would. Each resource
has a local id (`journal-<uuid>`, never an EHR id) and is tagged `downtime` in
`meta.tag`, which is how the pages mark it "entered during downtime — not yet in the EHR"
(`is_from_journal`). Struck entries are gone and corrected ones replaced
(`repository.in_effect`); drill entries appear only in a drill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from standby.clock import instant
from standby.journal import adt
from standby.journal.adt import local_id
from standby.journal.entries import Entry, Kind
from standby.journal.fhir_mapping import DOWNTIME_TAG, JOURNAL_ID_PREFIX, Subject, to_fhir
from standby.journal.repository import in_effect

JSON = dict[str, Any]
# the kinds whose resources the read model shows beside the replica's (admissions,
# transfers and discharges change the patient's encounters instead, and a registration
# is a patient of its own: `with_journal`, `standby.journal.adt`)
SHOWN = frozenset(
    {
        Kind.VITALS,
        Kind.ADMINISTRATION,
        Kind.NOTE,
        Kind.ORDER,
        Kind.ALLERGY,
        Kind.NO_KNOWN_ALLERGIES,
    }
)


# the kinds the documentation lists show (what is documented, and admissions, transfers,
# discharges and registrations)
LISTED = SHOWN | adt.ADT_KINDS

__all__ = ["LISTED", "SHOWN", "as_resources", "is_from_journal", "local_id", "with_journal"]


def as_resources(entries: Iterable[Entry], *, drill: bool = False) -> list[JSON]:
    """The resources of what stands of `entries` (one patient's, in the order written),
    with local ids, ready to be read beside the replica's."""
    wanted = [e for e in entries if e.drill == drill]
    out: list[JSON] = []
    for e in in_effect(wanted):
        if e.kind not in SHOWN:
            continue
        for r in to_fhir(e, Subject.local(e)):
            r["id"] = local_id(r)
            r["meta"] = {
                **r.get("meta", {}),
                "versionId": "1",
                "lastUpdated": instant(e.recorded_at),
            }
            out.append(r)
    return out


def with_journal(
    resources: Sequence[Mapping[str, Any]], entries: Iterable[Entry], *, drill: bool = False
) -> list[JSON]:
    """One patient's resources from the replica with what stands of their journal entries:
    the documented resources beside the replica's (`as_resources`), their encounters as the
    journal's admissions, transfers and discharges left them (`adt.encounters_after`), and,
    for a patient registered during downtime (`journal-<uuid>`), the registration's
    Patient. A patient who exists only in a drill (registered in it) is shown with the
    drill's entries."""
    entries = list(entries)
    if any(e.kind is Kind.REGISTRATION and e.drill for e in entries) and all(
        e.patient_id.startswith(JOURNAL_ID_PREFIX) for e in entries
    ):
        drill = True
    wanted = in_effect([e for e in entries if e.drill == drill])
    out: list[JSON] = [dict(r) for r in resources if r.get("resourceType") != "Encounter"]
    patient = adt.registered_patient(wanted)
    if patient is not None and not any(r.get("resourceType") == "Patient" for r in out):
        out.insert(0, patient)
    encounters = [r for r in resources if r.get("resourceType") == "Encounter"]
    out += adt.encounters_after(encounters, wanted)
    out += as_resources(wanted, drill=drill)
    return out


def is_from_journal(resource: Mapping[str, Any]) -> bool:
    """Whether a resource was documented during downtime and is not yet in the EHR."""
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(
        t.get("system") == DOWNTIME_TAG["system"] and t.get("code") == DOWNTIME_TAG["code"]
        for t in tags
    )
