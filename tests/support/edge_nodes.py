"""An edge node's central Standby in tests: the test hospital in a store, served over real
HTTP on a port that can be stopped (the cut link) and served again, and 3W's census."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standby.clinical.census import unit_census, units
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.web.server import bind, uvicorn_config

NOW = datetime.now(UTC).replace(microsecond=0)


@contextlib.contextmanager
def serve_on(settings: Settings, app: Any, port: int) -> Iterator[str]:
    """The viewer (and its /fhir) on 127.0.0.1:`port` (0: a free one) until the block ends:
    leaving it stops the server, which is how the tests cut the edge node's link."""
    import uvicorn

    sock = bind("127.0.0.1", port)
    server = uvicorn.Server(uvicorn_config(settings, app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def central_store(hospital: Path, db: Path) -> Store:
    store = open_store(db=db)
    for f in sorted(hospital.glob("*.ndjson")):
        with f.open("rb") as fh:
            store.ingest_ndjson(fh, file=str(f))
    return store


def census_ids(store: Store, alias: str) -> list[str]:
    unit = next(u for u in units(store) if u.alias == alias)
    c = unit_census(store, unit.id, NOW)
    return sorted(str(p.id) for p in c.patients)
