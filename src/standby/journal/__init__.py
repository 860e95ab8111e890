"""Documentation written while the EHR is down (docs/journal.md): entries and their
validation (`entries`), the FHIR R4 resources each becomes (`fhir_mapping`), their durable,
append-only storage (`repository`, `schema`) and downtime numbers (`numbers`)."""
