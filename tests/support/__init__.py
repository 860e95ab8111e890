"""What the tests share: fixtures, fakes and fixtures' data, imported as `support.<module>`
(`pythonpath = ["tests"]` in pyproject.toml puts this package on the path; no test edits
`sys.path`). Test modules stay beside the code they test (tests/<package>/test_*.py); the
fixtures of one folder are re-exported by its conftest.py.

* `store_engines` — a fresh store of every engine (SQLite, PostgreSQL, memory) per test.
* `postgres` — the test PostgreSQL server (`STANDBY_TEST_POSTGRES_URL`).
* `summary_fixtures` — small FHIR resources for the patient-summary rules.
* `reports_support` — the packet tests' hospital and clock.
* `monitor_site`, `monitor_receivers` — the monitor's store, clock, app; a fake EHR, a
  webhook receiver and an SMTP server.
* `sim_server_support` — the simulated EHR's app over a small store.
* `sync_fake_fhir`, `sync_crafted_ehr`, `sync_kill_child` — source EHRs for the sync tests
  and the sync process the crash test kills.
* `second_server` — a second FHIR server no one here wrote (Medplum's FhirRouter under Node),
  a fault proxy for either server, and the `fhir_source` fixture over both.
* `web_site`, `web_browser` — the viewer's hospital, sites and logged-in clients; the served
  app and Chromium of the browser journeys.

The in-memory store the tests use without a database is the real engine
`standby.store.memory.MemoryStore`, not a fake.
"""
