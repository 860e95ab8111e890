"""Every clinical example of FHIR R4 (npm hl7.fhir.r4.examples 4.0.1) goes into both engines
and comes back JSON-equal, decimals included."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from standby.store.base import Store
from support.fhir_examples import TGZ, clinical_examples


def test_every_clinical_example_round_trips(store: Store) -> None:
    if not TGZ.exists():
        pytest.fail(f"{TGZ} is missing: run `make {TGZ.relative_to(TGZ.parents[1])}`")
    examples = list(clinical_examples())
    assert len(examples) > 600  # 709 clinical examples in 4.0.1
    for k in range(0, len(examples), 200):
        store.upsert_many([raw for _, raw in examples[k : k + 200]])
    for name, raw in examples:
        want = json.loads(raw, parse_float=Decimal)
        got = store.read(want["resourceType"], want["id"])
        assert got is not None, name
        assert json.loads(got.body, parse_float=Decimal) == want, name
    assert sum(store.counts_by_type().values()) == len(examples)
