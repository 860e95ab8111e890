"""Back-entry: filing the documentation written during a downtime into the EHR
(docs/recovery.md)."""
