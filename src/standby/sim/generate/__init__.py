"""The synthetic hospital generator (docs/synthetic-hospital.md).

`generate_hospital(beds, seed, out, *, now=None)` writes one `<ResourceType>.ndjson` file
per type into `out` and returns the counts per type.
"""

from standby.sim.generate.hospital import default_now, generate_hospital

__all__ = ["default_now", "generate_hospital"]
