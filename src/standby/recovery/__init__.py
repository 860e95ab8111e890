"""Back-entry: filing what was documented during downtime into the EHR, exactly once
(docs/recovery.md)."""
