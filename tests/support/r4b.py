"""Validation against `fhir.resources.R4B`, the FHIR models no one here wrote."""

from __future__ import annotations

import importlib
from typing import Any


def validate(resource: dict[str, Any]) -> None:
    """Raise if `resource` is not a valid R4B resource of its `resourceType`."""
    rtype = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}")
    getattr(module, rtype).model_validate(resource)
