"""Pure FHIR R4 knowledge: no I/O (docs/architecture.md)."""
