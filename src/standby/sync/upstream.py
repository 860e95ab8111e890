"""What an edge node keeps of the central Standby it copies from: the central node's own
word on itself (`GET /status/node.json`, read after every round), for
`standby.edge.upstream.edge_state`. A source that is not a Standby is never asked."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import httpx

from standby import clock
from standby.store.base import Store
from standby.sync import status

CHECKPOINT = "edge:upstream"
STATUS_PATH = "/status/node.json"
# a status document is a few hundred bytes; a central node sending more is not believed
# (and never fills the edge's memory: the sync's other answers stop at 512 MB)
MAX_STATUS_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


def status_url(source_url: str) -> str:
    """The central node's status URL from its FHIR base (`http://central:8080/fhir`)."""
    base = source_url.rstrip("/")
    if base.endswith("/fhir"):
        base = base[: -len("/fhir")]
    return base + STATUS_PATH


def fetch(
    store: Store,
    source_url: str,
    *,
    timeout: float = 5.0,
    source: str = "central",
    transport: httpx.BaseTransport | None = None,
    max_bytes: int = MAX_STATUS_BYTES,
) -> bool:
    """Read the central node's status and keep it; False when it did not answer (what was
    kept before stays). An answer larger than `max_bytes` is refused unread and recorded as
    the central node's failure (a sync event for `source`), never a crash."""
    url = status_url(source_url)
    try:
        with (
            httpx.Client(timeout=timeout, transport=transport) as http,
            http.stream("GET", url) as r,
        ):
            if r.status_code != 200:
                return False
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    problem = (
                        f"the central node's {STATUS_PATH} is larger than"
                        f" {max_bytes >> 10} KB: refused"
                    )
                    log.warning("central status refused", extra={"reason": problem})
                    with contextlib.suppress(Exception):
                        status.record_error(store, source, "central-status", problem)
                    return False
        said = json.loads(bytes(body))
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
