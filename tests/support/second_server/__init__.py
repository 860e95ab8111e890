"""A second FHIR R4 server for the sync tests, one that no one here wrote: Medplum's
`FhirRouter` over its `MemoryRepository` (npm `@medplum/fhir-router`, fetched by the
Makefile into `.cache/medplum`), served by a ~100-line node:http adapter (`server.mjs`).

* `medplum` — the server as a child process (`SecondServer`); `FhirAdmin`, plain FHIR
  PUT / DELETE / read against any server.
* `fault_proxy` — `FaultProxy`, 503s / 429s / resets at a rate, cuts of N seconds, and
  rewritten pages, in front of either server (the simulated EHR's fault machinery).
* `sources` — the `fhir_source` fixture (parametrized "sim" and "second"), the small
  hospital and the R4 examples as NDJSON folders.

See docs/sync.md, "Tested against".
"""
