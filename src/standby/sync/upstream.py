"""What an edge node keeps of the central Standby it copies from: the central node's own
word on itself (`GET /status/node.json`, read after every round), for
`standby.edge.upstream.edge_state`. A source that is not a Standby is never asked."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx

from standby import clock
from standby.store.base import Store

CHECKPOINT = "edge:upstream"
STATUS_PATH = "/status/node.json"


def status_url(source_url: str) -> str:
    """The central node's status URL from its FHIR base (`http://central:8080/fhir`)."""
    base = source_url.rstrip("/")
    if base.endswith("/fhir"):
        base = base[: -len("/fhir")]
    return base + STATUS_PATH


def fetch(store: Store, source_url: str, *, timeout: float = 5.0) -> bool:
    """Read the central node's status and keep it; False when it did not answer (what was
    kept before stays)."""
    url = status_url(source_url)
    try:
        r = httpx.get(url, timeout=timeout)
        if r.status_code != 200:
            return False
        said = r.json()
    except (httpx.HTTPError, ValueError):
        return False
    if not isinstance(said, dict):
        return False
    kept = {"url": source_url, "fetched_at": clock.instant(clock.now()), "said": said}
    store.set_checkpoint(CHECKPOINT, json.dumps(kept))
    return True


def held(store: Store) -> dict[str, Any] | None:
    """What the central node last said of itself (None: this node never asked one)."""
    try:
        raw = store.get_checkpoint(CHECKPOINT)
    except Exception:  # a replica without the checkpoint table yet
        return None
    if not raw:
        return None
    with contextlib.suppress(ValueError):
        kept = json.loads(raw)
        return kept if isinstance(kept, dict) else None
    return None
