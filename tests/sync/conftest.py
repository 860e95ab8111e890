"""The fixtures of the sync tests that run against both FHIR servers."""

from support.second_server.sources import examples_dir, fhir_source, hospital_dir

__all__ = ["examples_dir", "fhir_source", "hospital_dir"]
