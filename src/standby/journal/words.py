"""An entry in a clinician's words, the same on the screen and on paper (pure):
`what` ("Vital signs") and `details` ("BP 124/76 mmHg · HR 88/min · Temp 37.1 °C")."""

from __future__ import annotations

from standby.journal.entries import Entry, Kind

WHAT = {
    Kind.VITALS: "Vital signs",
    Kind.ADMINISTRATION: "Medication",
    Kind.NOTE: "Note",
    Kind.ORDER: "Order",
    Kind.ALLERGY: "Allergy",
    Kind.NO_KNOWN_ALLERGIES: "No known allergies",
    Kind.ADMIT: "Admission",
    Kind.TRANSFER: "Transfer",
    Kind.DISCHARGE: "Discharge",
    Kind.REGISTRATION: "Registration",
    Kind.STRIKE: "Struck out",
}
_VITALS = (
    ("heart_rate", "HR {}/min"),
    ("resp_rate", "RR {}/min"),
    ("temperature_c", "Temp {} °C"),
    ("spo2", "SpO2 {} %"),
    ("weight_kg", "Weight {} kg"),
    ("pain", "Pain {}/10"),
)


def what(entry: Entry) -> str:
    return WHAT[entry.kind]


def details(entry: Entry) -> str:
    p = entry.payload
    match entry.kind:
        case Kind.VITALS:
            parts = []
            if "systolic" in p:
                parts.append(f"BP {p['systolic']}/{p['diastolic']} mmHg")
            parts += [form.format(p[k]) for k, form in _VITALS if k in p]
            text = " · ".join(parts)
            return text + (" (unusual value confirmed)" if p.get("confirmed") else "")
        case Kind.ADMINISTRATION:
            if p.get("status") == "given":
                return f"{p['medication']}: given {p['dose']} {p['route']}".strip()
            return (
                f"{p['medication']}: {str(p['status']).replace('-', ' ')} — {p.get('reason', '')}"
            )
        case Kind.NOTE:
            return str(p.get("title", ""))
        case Kind.ALLERGY:
            reaction = f" ({p['reaction']})" if p.get("reaction") else ""
            return f"{p['substance']}{reaction}"
        case Kind.NO_KNOWN_ALLERGIES:
            return "No known allergies (patient or family)"
        case Kind.ORDER:
            med = ""
            if p.get("category") == "medication":
                med = f" — {p['medication']} {p['dose']} {p['route']} {p['frequency']}"
            return f"{p['category']}: {p['text']}{med} · {p['priority']} · {p['orderer']}"
        case Kind.ADMIT:
            return f"Admitted to {p.get('location_name') or p.get('location_id')}"
        case Kind.TRANSFER:
            return f"Moved to {p.get('location_name') or p.get('location_id')}"
        case Kind.DISCHARGE:
            return f"Discharged: {p.get('disposition', '')}"
        case Kind.REGISTRATION:
            where = p.get("location_name") or str(p.get("setting") or "")
            name = ", ".join(x for x in (str(p.get("family", "")).upper(), p.get("given")) if x)
            return (
                f"{name}, DOB {p.get('birth_date')}, downtime MRN {p.get('mrn')},"
                f" encounter {p.get('encounter_number')}" + (f" · {where}" if where else "")
            )
        case _:
            return ", ".join(f"{k}: {v}" for k, v in p.items())
