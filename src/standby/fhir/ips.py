"""The patient downtime summary as an International Patient Summary document
(https://hl7.org/fhir/uv/ips/): a `document` Bundle whose first entry is the Composition.

Pure: it renders a `PatientSummary` (`standby.fhir.summary`, the one place that decides
what a summary holds) and the resources it was built from; it decides nothing itself.
Each section lists as entries exactly the items the viewer shows (`ref` of each item) and
says in its narrative what the viewer says. An empty section is never "none": its
`emptyReason` is `unavailable` (list-empty-reason: the information is not available) and
its narrative says why, in the summary's words ("Allergies not recorded", "Not
synchronised: ..."). "No known allergies" is said only when the record asserts it (an
AllergyIntolerance with a no-known-allergy code), and then that resource is the entry.

Sections: the three IPS requires (medications 10160-0, allergies 48765-2, problems
11450-4), then results (30954-2) and vital signs (8716-3), and, as narrative only when
the summary has them, the plan of care (18776-5) and advance directives (42348-3, the code
status).
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from standby.fhir.summary_model import AllergyStatus, PatientSummary, Section, SectionStatus

LOINC = "http://loinc.org"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
IPS_COMPOSITION = "http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips"
AUTHOR = "Device/standby-replica"
JSON = Mapping[str, Any]


def _div(lines: Iterable[str]) -> dict[str, str]:
    items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>',
    }


def _section(
    title: str, code: str, display: str, lines: list[str], refs: list[str], empty: str = ""
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "text": _div(lines or [empty]),
    }
    if refs:
        s["entry"] = [{"reference": r} for r in dict.fromkeys(refs)]
    else:
        s["emptyReason"] = {
            "coding": [{"system": EMPTY_REASON, "code": "unavailable", "display": "Unavailable"}],
            "text": empty,
        }
    return s


def _empty(section: Section[Any]) -> str:
    return section.empty_text or f"No {section.what}."


def sections(summary: PatientSummary) -> list[dict[str, Any]]:
    """The Composition's sections, in the IPS order."""
    out = []
    meds = summary.medications
    out.append(
        _section(
            "Medication Summary", "10160-0", "History of Medication use Narrative",
            [m.line for m in meds], [f"MedicationRequest/{m.id}" for m in meds], _empty(meds),
        )
    )  # fmt: skip
    al = summary.allergies
    if al.status is AllergyStatus.LISTED:
        lines, refs = [a.line for a in al.items], [a.ref for a in al.items if a.ref]
    elif al.status is AllergyStatus.NO_KNOWN_ALLERGIES and al.asserted_by:
        lines, refs = [al.text], [al.asserted_by]
    else:
        lines, refs = [], []
    out.append(
        _section(
            "Allergies and Intolerances", "48765-2", "Allergies and adverse reactions Document",
            lines, refs, al.text,
        )
    )  # fmt: skip
    pr = summary.problems
    out.append(
        _section(
            "Problem List", "11450-4", "Problem list - Reported",
            [f"{p.text} ({p.category.lower()}{', since ' + p.onset if p.onset else ''})"
             for p in pr],
            [p.ref for p in pr if p.ref], _empty(pr),
        )
    )  # fmt: skip
    labs = summary.labs
    out.append(
        _section(
            "Results", "30954-2", "Relevant diagnostic tests/laboratory data Narrative",
            [f"{r.name}: {r.value}{' ' + r.flag if r.flag else ''}"
             f"{' (' + r.reference_range + ')' if r.reference_range else ''}"
             f"{', ' + r.when.isoformat() if r.when else ''}" for r in labs],
            [r.ref for r in labs if r.ref], _empty(labs),
        )
    )  # fmt: skip
    vit = summary.vitals
    what = "vital signs in the last 48 h"
    vit_empty: Section[Any] = Section([], summary.vitals_status, what, "Observation")
    out.append(
        _section(
            "Vital Signs", "8716-3", "Vital signs",
            [f"{row.when.isoformat()}: "
             + ", ".join(f"{k} {v}{' ' + row.flags[k] if k in row.flags else ''}"
                         for k, v in row.values.items()) for row in vit.rows],
            [ref for row in vit.rows for ref in row.refs.values()], _empty(vit_empty),
        )
    )  # fmt: skip
    plan = [
        *(f"{c.title}: {', '.join(c.activities)}" if c.activities else c.title
          for c in summary.care_plan),
        *(f"{o.text} ({o.status}{', ' + o.when if o.when else ''})" for o in summary.orders),
    ]  # fmt: skip
    if plan:
        out.append(_narrative("Plan of Care", "18776-5", "Plan of care note", plan))
    cs = summary.header.code_status
    if cs.known:
        out.append(_narrative("Advance Directives", "42348-3", "Advance directives", [cs.text]))
    return out


def _narrative(title: str, code: str, display: str, lines: list[str]) -> dict[str, Any]:
    return {
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "text": _div(lines),
    }


def _ref_of(section: dict[str, Any]) -> list[str]:
    return [e["reference"] for e in section.get("entry") or []]


def ips_document(
    summary: PatientSummary,
    resources: Mapping[str, JSON],
    *,
    base: str,
    now: str,
    data_as_of: str | None,
) -> dict[str, Any]:
    """The summary as an IPS document Bundle: the Composition, the Patient, the device that
    wrote it (the author), every resource a section lists, and the Medications those
    orders name. `resources`: "Type/id" → resource (what the summary was built from)."""
    pid = summary.header.patient_id
    secs = sections(summary)
    wanted = [f"Patient/{pid}", *(r for s in secs for r in _ref_of(s))]
    for ref in list(wanted):
        if ref.startswith("MedicationRequest/"):
            med = (resources.get(ref) or {}).get("medicationReference") or {}
            if isinstance(med.get("reference"), str):
                wanted.append(med["reference"])
    kept = [r for r in dict.fromkeys(wanted) if r in resources]
    for s in secs:  # an entry always resolves inside the document
        if "entry" in s:
            s["entry"] = [e for e in s["entry"] if e["reference"] in kept]
            if not s["entry"]:
                del s["entry"]
                s["emptyReason"] = {
                    "coding": [{"system": EMPTY_REASON, "code": "unavailable"}],
                    "text": "not available from this replica",
                }
    as_of = f" Data as of {data_as_of}." if data_as_of else " Data as of: unknown."
    composition = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [IPS_COMPOSITION]},
        "text": _div([f"Downtime patient summary of {summary.header.identifiers}.{as_of}"]),
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "date": now,
        "author": [{"reference": AUTHOR, "display": "Standby downtime replica"}],
        "title": f"Patient Summary (downtime replica, data as of {data_as_of or 'unknown'})",
        "section": secs,
    }
    device = {
        "resourceType": "Device",
        "id": AUTHOR.split("/")[1],
        "deviceName": [{"name": "Standby downtime replica", "type": "user-friendly-name"}],
    }
    entries = [
        {"fullUrl": f"{base}/Composition/{composition['id']}", "resource": composition},
        *({"fullUrl": f"{base}/{ref}", "resource": resources[ref]} for ref in kept),
        {"fullUrl": f"{base}/{AUTHOR}", "resource": device},
    ]
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [IPS_BUNDLE]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    }


__all__ = ["SectionStatus", "ips_document", "sections"]
