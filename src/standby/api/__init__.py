"""The read-only FHIR R4 API of the replica, served by `standby serve` under `/fhir`
(docs/fhir-api.md): SMART Backend Services for its clients (`smart.py`), the
CapabilityStatement (`capability.py`), read/vread/history (`reads.py`), search with snapshot
paging (`search.py`, `paging.py`), every write refused (`app.py`), every answer carrying the
replica's "data as of" (`responses.py`).

The app is built by `create_fhir_app(ApiContext(...))`; operations added later (`$export`,
`$summary`) are more routes in `app.ROUTES`, each given the same context and guard.
"""
