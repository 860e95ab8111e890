"""What the HL7 v2 feed brought for a unit's patients during the downtime, for the census:
results and administrations "received during downtime from <sender> — not seen in the EHR"
(docs/hl7.md#during-downtime; the rule is `standby.fhir.data_source`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from standby.fhir import display as d
from standby.fhir.data_source import downtime_note, received_during_downtime
from standby.store import Store

KINDS = ("Observation", "MedicationAdministration")
SHOWN = 5  # per patient, newest first


def _line(r: dict[str, object], sender: str) -> str:
    if r.get("resourceType") == "Observation":
        q = r.get("valueQuantity") or {}
        assert isinstance(q, dict)
        flags = [
            str(c.get("code"))
            for i in r.get("interpretation") or []  # type: ignore[attr-defined]
            for c in i.get("coding") or []
            if c.get("code") not in (None, "N")
        ]
        what = " ".join(
            str(x)
            for x in (d.concept_text(r.get("code"), "Result"), q.get("value"), q.get("unit"))
            if x not in (None, "")
        )
        what += f" {flags[0]}" if flags else ""
    else:
        given = "not given" if r.get("status") == "not-done" else "given"
        what = f"{d.concept_text(r.get('medicationCodeableConcept'), 'Dose')} {given}"
    return f"{what} — {downtime_note(sender)}"


def received_in_downtime(
    store: Store, patient_ids: Iterable[str], charted_until: datetime | None
) -> dict[str, list[str]]:
    """Per patient, the newest results and doses the feed brought since the charting cutoff
    (`charted_until`; nothing outside a downtime), one line each."""
    if charted_until is None:
        return {}
    since = charted_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out: dict[str, list[str]] = {}
    for pid in patient_ids:
        found: list[tuple[str, str]] = []
        for rtype in KINDS:
            params = [("subject", f"Patient/{pid}"), ("_lastUpdated", f"ge{since}")]
            for sr in store.search(rtype, params, count=50).resources:
                r = sr.json()
                sender = received_during_downtime(r, charted_until)
                if sender:
                    found.append(
                        (str((r.get("meta") or {}).get("lastUpdated", "")), _line(r, sender))
                    )
        if found:
            found.sort(reverse=True)
            out[pid] = [line for _, line in found[:SHOWN]]
    return out
