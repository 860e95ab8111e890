"""UCUM units as people write them: `10*3/uL` → `10³/µL`, `mm[Hg]` → `mmHg`, `Cel` → `°C`.

UCUM (https://ucum.org/ucum) is the code system of `Quantity.code` in FHIR R4
(https://hl7.org/fhir/R4/datatypes.html#Quantity); EHRs often copy the code into
`Quantity.unit`, and a nurse reading "10*3/uL" or "umol/L" at 3 a.m. should not have to
translate. The whole-unit table holds the forms used by the synthetic hospital and the FHIR
specification's examples; anything else goes through the general rules (powers of ten,
micro, squares and cubes, annotations dropped, brackets removed). International units
are written "units", never "U" or "IU" (ISMP's list of error-prone abbreviations).
"""

from __future__ import annotations

import functools
import re

from standby.fhir.display import number

WHOLE = {
    "Cel": "°C",
    "[degF]": "°F",
    "mm[Hg]": "mmHg",
    "cm[H2O]": "cmH₂O",
    "[iU]": "units",
    "[IU]": "units",
    "U": "units",
    "[pH]": "",  # pH has no unit: "7.38"
    "[in_i]": "in",
    "[lb_av]": "lb",
    "[oz_av]": "oz",
    "[ft_i]": "ft",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "/[HPF]": "/HPF",
    "/[LPF]": "/LPF",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "mL/min/1.73m2": "mL/min/1.73 m²",
    "meq/L": "mEq/L",
    "meq": "mEq",
    "mosm/kg": "mOsm/kg",
    "mosm/L": "mOsm/L",
    "[drp]": "drops",
    "h": "h",
    "min": "min",
    "s": "s",
    "d": "days",
    "wk": "weeks",
    "mo": "months",
    "a": "years",
}
_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"10\*(-?\d+)")
_EXPONENT = re.compile(r"(?<=[a-zA-Z])([23])(?![0-9])")
_MICRO = re.compile(r"(?<![A-Za-z])u(?=(?:g|L|mol|U|eq|m|l|IU|iU)\b|(?:g|L|mol|U|eq|m)/)")
_ANNOTATION = re.compile(r"\{[^}]*\}")


def written(code: object) -> str:
    """The unit as a clinician writes it ("" for an annotation alone, such as `{score}`)."""
    return _written(str(code or "").strip())


@functools.lru_cache(maxsize=4096)  # a few dozen units, written for every reading shown
def _written(text: str) -> str:
    if text in WHOLE:
        return WHOLE[text]
    text = _ANNOTATION.sub("", text)
    if not text or text == "1":
        return ""
    text = re.sub(r"\[(iU|IU)\]", "units", text)
    text = text.replace("[", "").replace("]", "")
    text = _POWER.sub(lambda m: "10" + m.group(1).translate(_SUPER), text)
    text = _MICRO.sub("µ", text)
    text = text.replace("meq", "mEq").replace("mosm", "mOsm")
    text = _EXPONENT.sub(lambda m: m.group(1).translate(_SUPER), text)
    return text.strip()


def quantity_text(q: object, default: str = "") -> str:
    """ "5.2 10*3/uL" → "5.2 10³/µL": the value as sent (no float noise) and the unit as
    written; `Quantity.unit` is preferred to `Quantity.code` when it is already readable."""
    if not isinstance(q, dict):
        return default
    value = q.get("value")
    if value is None:
        return default
    unit = written(q.get("unit") or q.get("code") or "")
    comparator = str(q.get("comparator") or "")
    return f"{comparator}{number(value)} {unit}".strip()
