"""Strict modes of the simulated EHR: behave like the real servers that offer less.

Real FHIR servers differ in what they offer, and a sync that works only against a
generous server is not tested. Each switch of `Strictness` takes one thing away, and the
CapabilityStatement (capability.py) says so, so that a client reading `/metadata` learns
the truth (docs/simulated-ehr.md#strict-modes):

* `no-bare-ids`: a reference search value without a type (`patient=123`) matches nothing,
  as some servers answer (valid FHIR, search.html#reference; servers differ).
* `no-export`: no Bulk Data `$export` (404, and not in the CapabilityStatement).
* `no-type-search`: searches of patient data must name the patient (`patient=` or
  `subject=`; `_id` or `identifier` for Patient), except the census queries
  (Encounter by `status`, Appointment by `date`); advertised with the
  `capabilitystatement-search-parameter-combination` extension, which is what US Core
  servers use to say which parameters a search needs.
* `no-history`: no `_history` interactions at all (instance, type, system): 404.
* `no-transaction`: no transaction Bundles (`POST /` with a `transaction` answers 404, and
  the CapabilityStatement does not list the interaction); batch Bundles stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from standby.fhir.outcomes import FhirError
from standby.fhir.search_registry import REFERENCE, resolve_param

MODES = ("no-bare-ids", "no-export", "no-type-search", "no-history", "no-transaction")

#: Types of the R4 Patient compartment (compartmentdefinition-patient.html) that a
#: hospital's EHR holds: with `no-type-search`, searches of these need the patient.
PATIENT_DATA_TYPES = frozenset(
    {
        "AllergyIntolerance",
        "Appointment",
        "CarePlan",
        "CareTeam",
        "ClinicalImpression",
        "Communication",
        "Condition",
        "Consent",
        "Coverage",
        "DeviceRequest",
        "DiagnosticReport",
        "DocumentReference",
        "Encounter",
        "EpisodeOfCare",
        "FamilyMemberHistory",
        "Flag",
        "Goal",
        "ImagingStudy",
        "Immunization",
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationRequest",
        "MedicationStatement",
        "NutritionOrder",
        "Observation",
        "Patient",
        "Procedure",
        "QuestionnaireResponse",
        "RelatedPerson",
        "ServiceRequest",
        "Specimen",
    }
)

#: The parameter combinations a `no-type-search` server accepts, one required set each.
_PATIENT_SCOPE = (("patient",), ("subject",))
_EXTRA_COMBINATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Patient": (("_id",), ("identifier",)),
    "Encounter": (("status",),),  # the census: who is in a bed now
    "Appointment": (("date",),),  # the census: who comes in the next days
}
COMBINATION_EXT = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)


@dataclass(frozen=True)
class Strictness:
    """What the server refuses; all False: the generous default."""

    no_bare_ids: bool = False
    no_export: bool = False
    no_type_search: bool = False
    no_history: bool = False
    no_transaction: bool = False

    @classmethod
    def parse(cls, modes: Sequence[str] | str | None) -> Strictness:
        """From mode names (`no-export`, ...), a comma-separated string, or `all`."""
        if modes is None:
            return cls()
        items = modes.split(",") if isinstance(modes, str) else list(modes)
        names = {m.strip() for m in items if m.strip()}
        if "all" in names:
            names = (names - {"all"}) | set(MODES)
        bad = sorted(names - set(MODES))
        if bad:
            raise ValueError(f"unknown strict mode(s) {bad}: choose from {', '.join(MODES)}, all")
        return cls(**{m.replace("-", "_"): True for m in names})

    def names(self) -> list[str]:
        return [f.name.replace("_", "-") for f in fields(self) if getattr(self, f.name)]


def combinations(rtype: str) -> tuple[tuple[str, ...], ...]:
    """The required-parameter sets a `no-type-search` server accepts for `rtype`; empty
    when any search is accepted."""
    if rtype not in PATIENT_DATA_TYPES:
        return ()
    scope = () if rtype == "Patient" else _PATIENT_SCOPE
    return scope + _EXTRA_COMBINATIONS.get(rtype, ())


def check_search(strict: Strictness, rtype: str, names: Sequence[str]) -> None:
    """400 when `no-type-search` is on and the search names none of `rtype`'s required
    parameter sets."""
    combos = combinations(rtype) if strict.no_type_search else ()
    if not combos:
        return
    given = {n.split(":", 1)[0] for n in names}
    if any(set(c) <= given for c in combos):
        return
    need = " or ".join("+".join(c) for c in combos)
    raise FhirError(
        "not-supported",
        f"{rtype} searches need {need}: this server does not search a whole type",
        status=400,
    )


def drop_bare_ids(
    strict: Strictness, rtype: str, criteria: list[tuple[str, str]]
) -> list[tuple[str, str]] | None:
    """With `no-bare-ids`, reference values without a type match nothing: they are taken
    out of their OR lists, and None (no match at all) when a parameter is left empty."""
    if not strict.no_bare_ids:
        return criteria
    out: list[tuple[str, str]] = []
    for k, v in criteria:
        name = k.split(":", 1)[0]
        resolved = resolve_param(rtype, name)
        if resolved is None or resolved[1][0] != REFERENCE or ":" in k:
            out.append((k, v))
            continue
        typed = [x for x in v.split(",") if "/" in x]
        if not typed:
            return None
        out.append((k, ",".join(typed)))
    return out


def refuse(what: str) -> FhirError:
    """The error for an interaction a strict mode took away (404, as servers without it)."""
    return FhirError("not-supported", f"{what} is not supported by this server", status=404)
