"""Edge nodes: a Standby that copies some units from another Standby (docs/edge-nodes.md)."""
