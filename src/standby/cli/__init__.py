"""The `standby` command: the composition root that wires settings to the parts."""
