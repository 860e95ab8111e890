"""The synthetic hospital and the simulated EHR.

* `standby.sim.generate` — `generate_hospital(beds, seed, out)` writes a deterministic
  hospital as NDJSON files of FHIR R4 resources (docs/synthetic-hospital.md).
* `standby.sim.changes` — `ChangeFeed`, the live stream of new vitals, labs, medication
  administrations, admissions, transfers, discharges and appointments that the simulated
  EHR writes into its store.
"""
