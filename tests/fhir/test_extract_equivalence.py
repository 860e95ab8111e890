"""The compiled extractor gives exactly what the plain walk of the parameter table gave.

`reference_extract` below is the table walk as it was written first (kept here as the
oracle): every index value and the compartment of generated hospital data and of random
resources (odd shapes: lists where one is expected, bare references, typed references,
codes that are not strings) must come out the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.fhir import search_params as sp
from standby.fhir.references import reference_target
from standby.fhir.search_params import Extracted, extract, patient_compartment


def reference_extract(resource: dict[str, Any]) -> Extracted:
    out = Extracted()
    rtype = resource.get("resourceType")
    table = sp._COMPILED.get(rtype, sp._COMPILED_DEFAULT) if isinstance(rtype, str) else []
    for name, kind, paths in table:
        for path in paths:
            for value in sp._walk(resource, path):
                if kind == sp.TOKEN:
                    for system, code in sp._tokens(value):
                        out.token.add((name, system, code))
                elif kind == sp.STRING:
                    for s in sp._strings(value):
                        n = sp.normalize_string(s)
                        if n:
                            out.string.add((name, n[:200]))
                elif kind == sp.DATE:
                    for lo, hi in sp._dates(value):
                        out.date.add((name, lo, hi))
                else:
                    target = reference_target(value)
                    if target is None:
                        continue
                    ttype, tid = target
                    if name == "patient" and ttype not in (None, "Patient"):
                        continue
                    out.reference.add((name, ttype or "", tid))
    return out


def reference_compartment(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) else None
    for path in sp._COMPARTMENT:
        for value in sp._walk(resource, path):
            target = reference_target(value)
            if target is not None and target[0] == "Patient":
                return target[1]
    return None


def test_generated_hospital_extracts_the_same(tmp_path: Path) -> None:
    from standby.sim.generate import generate_hospital

    generate_hospital(8, 3, tmp_path, now=datetime(2026, 11, 28, 10, tzinfo=UTC))
    n = 0
    for path in sorted(tmp_path.glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            res = orjson.loads(line)
            assert extract(res) == reference_extract(res), line[:200]
            assert patient_compartment(res) == reference_compartment(res)
            n += 1
    assert n > 4_000


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(
        ["Patient/p1", "Practitioner/x", "p2", "#c", "urn:uuid:1", "2026-01-02", "a b"]
    ),
)
_coding = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(st.sampled_from(["http://loinc.org", ""]), st.integers()),
        "code": st.one_of(st.sampled_from(["1", "x"]), st.none(), st.integers()),
        "value": st.sampled_from(["v", "w"]),
    },
)
_ref = st.fixed_dictionaries(
    {},
    optional={
        "reference": st.one_of(st.sampled_from(["Patient/p1", "p2", "Encounter/e", "#c"]), _leaf),
        "type": st.sampled_from(["Patient", "Group", "Location"]),
    },
)
_element = st.recursive(
    st.one_of(
        _leaf,
        _coding,
        _ref,
        st.fixed_dictionaries({}, optional={"coding": st.lists(_coding, max_size=3)}),
        st.fixed_dictionaries(
            {}, optional={"start": _leaf, "end": st.sampled_from(["2026", "2026-02-03T04:05Z"])}
        ),
        st.fixed_dictionaries(
            {}, optional={"family": st.sampled_from(["Müller", " "]), "given": st.lists(_leaf)}
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["code", "actor", "family", "coding", "reference", "value"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


def _keys(rtype: str) -> list[str]:
    table = sp.PARAMS.get(rtype, sp.DEFAULT_PARAMS)
    return sorted({p.split(".")[0] for _, paths in table.values() for p in paths})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtype=st.sampled_from([*sp.PARAMS, "Basic", "Goal"]), data=st.data())
def test_random_resources_extract_the_same(rtype: str, data: st.DataObject) -> None:
    body = data.draw(st.dictionaries(st.sampled_from(_keys(rtype)), _element, max_size=6))
    res = {"resourceType": rtype, "id": "r1", **body}
    assert extract(res) == reference_extract(res)
    assert patient_compartment(res) == reference_compartment(res)


def test_edge_cases_extract_the_same() -> None:
    refs = [
        {"reference": "Encounter/e"},
        {"reference": "p2", "type": "Group"},
        {"reference": "p3"},
        {"reference": "https://ehr/fhir/Patient/p4/_history/2"},
        {"reference": "#c"},
        [{"reference": "Patient/p5"}, "Patient/p6", {"reference": 3}],
    ]
    for rtype in ("AllergyIntolerance", "Basic", "Encounter", "Observation"):
        for ref in refs:
            for key in ("patient", "subject", "participant", "encounter"):
                element = [{"actor": ref}] if key == "participant" else ref
                res = {"resourceType": rtype, "id": "r1", key: element}
                assert extract(res) == reference_extract(res), res
                assert patient_compartment(res) == reference_compartment(res), res
