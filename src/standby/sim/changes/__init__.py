"""The simulated EHR's live change feed (docs/synthetic-hospital.md, "The live change feed").

`ChangeFeed(store, seed).step(n, now)` returns `n` new or updated FHIR resources for the
server to write with `store.update(...)` (their `meta` is left for the store to assign):
new vital signs, labs and medication administrations for current inpatients, new and
rescheduled clinic visits (`clinical_events.py`), and the patient flow — admissions,
transfers and discharges at the pace of the clock, not of the change rate, so that the
census stays near where it started (`patient_flow.py`). `census.py` holds what the feed
knows of the hospital. Shapes follow docs/data-model.md, as the generator's do.
"""

from standby.sim.changes.feed import ChangeFeed

__all__ = ["ChangeFeed"]
