"""Outage detection, downtime mode, incidents and communication.

* `probes` — what is measured (HTTP, FHIR `/metadata`, an authenticated FHIR read, the
  token endpoint, TCP, DNS) and the bounded time series of results;
* `state` — the pure downtime state machine (normal → degraded → downtime → recovering →
  normal);
* `downtime` — applies the machine to the database and carries out its effects
  (incidents, notifications, the packet run);
* `incidents` — incidents, their timeline, role checklist and log; `after_action` — the
  after-action report (Markdown, PDF);
* `notify` — channels (SMTP email, webhooks, plug-ins) and the outbox that delivers each
  message once;
* `drills` — drill mode and its report; `runner` — the probe loop thread;
* `status` — `current_status(store)`, the banner every page shows.

Monitor imports only `standby.store` (docs/architecture.md); the packet generator and the
token provider are handed in as callables by the composition root (`standby.cli`).
See docs/monitor.md.
"""
