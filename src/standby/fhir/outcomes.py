"""OperationOutcome builders and the outcome → HTTP status mapping (pure).

FHIR R4 http.html#2.21.0.5 ("every error returns an OperationOutcome") and
operationoutcome.html (issue-type codes: https://hl7.org/fhir/R4/valueset-issue-type.html).
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

#: issue.code → the HTTP status a server answers with (http.html#3.1.0.4 and #2.21.0.5).
STATUS_BY_CODE: dict[str, int] = {
    "invalid": 400,
    "structure": 400,
    "required": 400,
    "value": 400,
    "invariant": 400,
    "not-supported": 400,
    "security": 401,
    "login": 401,
    "forbidden": 403,
    "not-found": 404,
    "deleted": 410,
    "conflict": 409,
    "duplicate": 412,
    "multiple-matches": 412,
    "processing": 422,
    "business-rule": 422,
    "throttled": 429,
    "exception": 500,
    "transient": 503,
    "timeout": 503,
    "informational": 200,
}


def outcome(code: str, diagnostics: str, *, severity: str = "error") -> JSON:
    """One-issue OperationOutcome."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def http_status(oo: JSON, *, default: int = 500) -> int:
    """The HTTP status for an OperationOutcome: the status of its first error/fatal issue."""
    for issue in oo.get("issue", []):
        if issue.get("severity") in ("error", "fatal"):
            return STATUS_BY_CODE.get(str(issue.get("code")), default)
    return 200


class FhirError(Exception):
    """An error to answer with an OperationOutcome; `status` overrides the code's default.

    Raised by a server part of Standby to answer its client. An error answered *to* Standby
    by a source EHR is a different thing, `standby.sync.http.SourceError`."""

    def __init__(
        self,
        code: str,
        diagnostics: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.outcome = outcome(code, diagnostics)
        self.status = status if status is not None else http_status(self.outcome)
        self.headers = headers or {}
