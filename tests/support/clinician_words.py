"""FHIR's words and codes that a clinician must not have to read, on screen or paper."""

from __future__ import annotations

import re

# matched as whole words: "final" inside "finally" does not count
FHIR_WORDS = (
    "resource",
    "resources",
    "Patient resource",
    "Observation",
    "MedicationRequest",
    "MedicationAdministration",
    "AllergyIntolerance",
    "completed",
    "in-progress",
    "entered-in-error",
    "not-done",
    "on-hold",
    "preliminary",
    "amended",
    "final",
    "refuted",
    "unable-to-assess",
    "encounter-diagnosis",
    "Encounter diagnosis",
    "problem-list-item",
    "fulfilled",
    "noshow",
    "checked-in",
    "waitlist",
    "inactive",
)


def fhir_words_in(text: str) -> list[str]:
    return [w for w in FHIR_WORDS if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
