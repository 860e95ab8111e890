"""`referenced_keys` walks the shapes resources take directly (a Reference, or a list of
them, one or two keys down); whatever the shape, it finds what the general walk finds."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from standby.fhir import display as d
from standby.fhir.summary import OUTSIDE, REFERENCE_FIELDS, _refs, referenced_keys

REFS = st.sampled_from(
    ["Practitioner/p1", "Location/l1", "Medication/m1", "Patient/x", "Organization/o", "bad"]
)
LEAF: Any = st.one_of(
    st.none(),
    st.integers(),
    REFS,
    st.fixed_dictionaries({"reference": st.one_of(REFS, st.integers())}),
)
KEYS = st.sampled_from(
    [
        "participant",
        "individual",
        "location",
        "medicationReference",
        "requester",
        "performer",
        "actor",
        "author",
        "reference",
        "display",
    ]
)
VALUE: Any = st.recursive(
    LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)
RESOURCE = st.builds(
    lambda rt, body: {**body, "resourceType": rt},
    st.sampled_from([*REFERENCE_FIELDS, "Observation", None]),
    st.dictionaries(KEYS, VALUE, max_size=4),
)


def _general(resources: list[dict[str, Any]]) -> set[str]:
    """The walk of before: every path, lists flattened at every step."""
    out: set[str] = set()
    for r in resources:
        for path in REFERENCE_FIELDS.get(str(r.get("resourceType")), ()):
            for ref in _refs(r, path):
                if isinstance(ref, str) and ref.startswith(OUTSIDE) and d.reference_key(ref):
                    out.add(str(d.reference_key(ref)))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(RESOURCE, max_size=4))
def test_referenced_keys_equals_the_general_walk(resources):
    assert referenced_keys(resources) == _general(resources)


def test_the_usual_shapes():
    enc = {
        "resourceType": "Encounter",
        "participant": [{"individual": {"reference": "Practitioner/p1"}}],
        "location": [{"location": {"reference": "Location/b1"}}, {"location": "Location/x"}],
    }
    req = {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "Medication/m"},
    }
    assert referenced_keys([enc, req]) == {"Practitioner/p1", "Location/b1", "Medication/m"}
