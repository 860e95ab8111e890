"""The simulated EHR's routes, one module per FHIR interaction or service. Each module has
`routes() -> list[BaseRoute]`; standby.sim.server.app puts them together in order."""
