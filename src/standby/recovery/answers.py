"""What the EHR answered, read (pure: no I/O): a refusal and its OperationOutcome, whether
every entry of a transaction-response succeeded, the id a create was given, what a
resource holds of what back-entry wrote, and the references of a resource rewritten to
the ids the EHR gave (docs/recovery.md#running-it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from standby.recovery.state import Status, Written

FHIR_JSON = "application/fhir+json"
#: Answers back-entry reads itself rather than the client raising: success, and the
#: refusals that decide an entry's status (the client still retries 429 and 5xx).
ANSWERS = (200, 201, 400, 403, 404, 405, 409, 410, 412, 422)
CONFLICT_STATUSES = (409, 412)


@dataclass(frozen=True)
class Refusal:
    status: Status  # CONFLICT or REJECTED
    error: str
    outcome: dict[str, Any] | None


def outcome_of(r: httpx.Response) -> dict[str, Any] | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return (
        body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
    )


def refusal(r: httpx.Response, what: str) -> Refusal:
    oo = outcome_of(r)
    text = ""
    if oo:
        text = "; ".join(
            str(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code"))
            for i in oo.get("issue") or []
            if isinstance(i, dict)
        )
    status = Status.CONFLICT if r.status_code in CONFLICT_STATUSES else Status.REJECTED
    return Refusal(status, f"{what} → HTTP {r.status_code}: {text}".strip(": "), oo)


def substitute(node: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: refs.get(v, v) if k == "reference" and isinstance(v, str) else substitute(v, refs)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [substitute(v, refs) for v in node]
    return node


def holds(theirs: Any, ours: Any) -> bool:
    """Whether the EHR's resource holds everything we wrote (it may add to it: meta, text,
    extensions)."""
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(
            k in ("meta", "text") or (k in theirs and holds(theirs[k], v)) for k, v in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(theirs) == len(ours)
            and all(holds(a, b) for a, b in zip(theirs, ours, strict=True))
        )
    return bool(theirs == ours)


def all_ok(r: httpx.Response) -> bool:
    """Whether every entry of a transaction-response succeeded (a server that does not
    run transactions atomically may answer 200 with failed entries)."""
    try:
        body = r.json()
    except ValueError:
        return False
    entries = body.get("entry") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return False
    for e in entries:
        status = str(((e or {}).get("response") or {}).get("status", ""))
        if not status.strip().startswith("2"):
            return False
    return True


def written_from(res: Mapping[str, Any], identifier: str) -> Written:
    meta = res.get("meta") or {}
    return Written(
        str(res.get("resourceType")),
        str(res.get("id")),
        str(meta["versionId"]) if meta.get("versionId") is not None else None,
        identifier,
    )


def id_from_answer(r: httpx.Response, rtype: str) -> str | None:
    try:
        body = r.json()
        if isinstance(body, dict) and body.get("id"):
            return str(body["id"])
    except ValueError:
        pass
    location = r.headers.get("Location") or r.headers.get("Content-Location") or ""
    parts = location.split("/_history", 1)[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == rtype:
        return parts[-1]
    return None
