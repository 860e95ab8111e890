"""Talking to a source EHR: SMART Backend Services auth, Bulk Data export (seed),
census-driven incremental search (stay fresh), checkpoints and sync health (docs/sync.md)."""
