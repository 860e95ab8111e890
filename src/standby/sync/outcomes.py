"""OperationOutcomes inside a source's search answers: the server speaking about the search
(https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.search.mode, mode `outcome`;
https://hl7.org/fhir/R4/operationoutcome.html). Each issue is logged as a warning from
the server; an issue of severity `error` or `fatal` means the answer is not the whole
truth (results cut short, a parameter ignored), so the caller does not trust the
stream's result that round.

Not `standby.fhir.outcomes`, which builds the outcomes Standby's own servers answer with.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("standby.sync.outcomes")

_SERIOUS = {"error", "fatal"}


def _issue_text(issue: dict[str, Any]) -> str:
    details = issue.get("details")
    text = details.get("text") if isinstance(details, dict) else None
    words = [
        str(issue.get("severity") or "?"),
        str(issue.get("code") or "?"),
        str(issue.get("diagnostics") or text or ""),
    ]
    return " ".join(w for w in words if w)[:500]


def server_said(outcome: dict[str, Any], resource_type: str, url: str) -> str | None:
    """Log every issue of `outcome` (from a search of `resource_type`); the text of the
    first issue of severity error or fatal, else None."""
    issues = outcome.get("issue")
    first: str | None = None
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        said = _issue_text(issue)
        log.warning(
            "the server said, answering a %s search: %s",
            resource_type,
            said,
            extra={"type": resource_type, "url": url.split("?", 1)[0]},
        )
        if first is None and issue.get("severity") in _SERIOUS:
            first = said
    return first
