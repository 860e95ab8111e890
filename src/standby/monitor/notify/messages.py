"""The notification events and their templates.

A message is made only from the incident's fields (state, times, the incident commander's
public message, the status page address): never from patient data. Templates are
`string.Template` text, `Subject line` then a blank line then the body; the placeholders
are listed in `PLACEHOLDERS` (docs/monitor.md#notifications).
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

EVENTS = ("declared", "reminder", "recovery-proposed", "ended")

PLACEHOLDERS = (
    "drill",  # "DRILL — " in a drill, else empty
    "state",
    "since",
    "incident_id",
    "declared_by",
    "message",
    "what_to_do",
    "status_url",
    "minutes",  # minutes since the declaration
)

DEFAULT_TEMPLATES: dict[str, str] = {
    "declared": (
        "${drill}EHR DOWNTIME declared ($since)\n\n"
        "${drill}The EHR is in downtime since $since (declared by $declared_by).\n\n"
        "What to do: $what_to_do\n\n$message\n\nStatus: $status_url\nIncident: $incident_id\n"
    ),
    "reminder": (
        "${drill}EHR DOWNTIME continues ($minutes min)\n\n"
        "${drill}The EHR has been in downtime for $minutes minutes (since $since).\n\n"
        "What to do: $what_to_do\n\n$message\n\nStatus: $status_url\nIncident: $incident_id\n"
    ),
    "recovery-proposed": (
        "${drill}EHR answering again: recovery proposed\n\n"
        "${drill}Standby sees the EHR answering again. Downtime continues until the incident "
        "commander confirms its end.\n\nStatus: $status_url\nIncident: $incident_id\n"
    ),
    "ended": (
        "${drill}EHR DOWNTIME ended\n\n"
        "${drill}The incident commander has ended the downtime that began $since. Return to "
        "the EHR; back-entry of downtime documentation begins.\n\n$message\n\n"
        "Status: $status_url\nIncident: $incident_id\n"
    ),
}


@dataclass(frozen=True, slots=True)
class Notification:
    message_id: str  # stable: the same event of the same incident has the same id
    event: str
    incident_id: str | None
    subject: str
    body: str
    drill: bool


def render(
    event: str,
    values: dict[str, str],
    *,
    message_id: str,
    incident_id: str | None,
    drill: bool,
    templates: dict[str, str] | None = None,
) -> Notification:
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r} (known: {EVENTS})")
    text = (templates or {}).get(event) or DEFAULT_TEMPLATES[event]
    full = {k: "" for k in PLACEHOLDERS} | values | {"drill": "DRILL — " if drill else ""}
    rendered = Template(text).safe_substitute(full)
    subject, _, body = rendered.partition("\n\n")
    return Notification(message_id, event, incident_id, subject.strip(), body.strip() + "\n", drill)
