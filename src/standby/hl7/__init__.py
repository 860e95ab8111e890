"""HL7 v2 feeds from the interface engine: the MLLP listener (ACK after commit), the pure
v2 -> FHIR R4 mappings, and the writer that stores their resources beside those of FHIR
sync (docs/hl7.md)."""
