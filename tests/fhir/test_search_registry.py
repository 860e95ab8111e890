"""The table of indexed search parameters (standby.fhir.search_registry)."""

from __future__ import annotations

from standby.fhir import search_params, search_registry
from standby.fhir.search_registry import (
    ALIASES,
    DEFAULT_PARAMS,
    KINDS,
    PARAMS,
    REFERENCE,
    params_for,
    resolve_param,
)


def test_every_definition_has_a_known_kind_and_paths() -> None:
    for table in [DEFAULT_PARAMS, *PARAMS.values()]:
        for name, (kind, paths) in table.items():
            assert kind in KINDS, name
            assert paths and all(isinstance(p, str) and p for p in paths), name


def test_every_alias_points_at_an_indexed_parameter() -> None:
    for rtype, aliases in ALIASES.items():
        for alias, (target, _target_type) in aliases.items():
            assert target in params_for(rtype), f"{rtype}.{alias} → {target}"


def test_resolve_param_follows_aliases_and_case() -> None:
    assert resolve_param("Observation", "patient") == (
        "subject",
        PARAMS["Observation"]["subject"],
        "Patient",
    )
    assert resolve_param("MedicationRequest", "authoredOn") == (
        "authored",
        PARAMS["MedicationRequest"]["authored"],
        None,
    )
    assert resolve_param("Patient", "family") == ("family", PARAMS["Patient"]["family"], None)
    assert resolve_param("Patient", "no-such-param") is None


def test_unlisted_types_use_the_default_table() -> None:
    assert "Immunization" not in PARAMS
    assert params_for("Immunization") is DEFAULT_PARAMS
    assert resolve_param("Immunization", "patient") == (
        "patient",
        (REFERENCE, ("patient", "subject")),
        None,
    )


def test_the_extraction_module_still_exports_the_table() -> None:
    for name in ("PARAMS", "DEFAULT_PARAMS", "ALIASES", "SPECIAL_PARAMS", "resolve_param"):
        assert getattr(search_params, name) is getattr(search_registry, name)
