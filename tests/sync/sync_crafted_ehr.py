"""A tiny FHIR server for tests that need crafted answers (bad bulk files), served over a
real socket by uvicorn in a thread. The simulated EHR (standby.sim.server) is used for
everything else."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


class CraftedEhr:
    """Bulk export of the given files (name → (type, bytes)); empty searches otherwise."""

    def __init__(
        self, files: dict[str, tuple[str, bytes]], errors: bytes = b"", deleted: bytes = b""
    ) -> None:
        self.files = files
        self.errors = errors
        self.deleted = deleted
        self.polls = 0
        self.deletes = 0
        self.base = ""

    def app(self) -> Starlette:
        async def kickoff(request: Request) -> Response:
            assert request.headers.get("prefer") == "respond-async"
            return Response(status_code=202, headers={"Content-Location": f"{self.base}/job/1"})

        async def status(request: Request) -> Response:
            if request.method == "DELETE":
                self.deletes += 1
                return Response(status_code=202)
            self.polls += 1
            if self.polls == 1:
                return Response(status_code=202, headers={"Retry-After": "0", "X-Progress": "1%"})
            manifest = {
                "transactionTime": "2026-11-28T12:00:00.000Z",
                "request": f"{self.base}/$export",
                "requiresAccessToken": False,
                "output": [
                    {"type": t, "url": f"{self.base}/files/{name}"}
                    for name, (t, _) in self.files.items()
                ],
                "error": [{"type": "OperationOutcome", "url": f"{self.base}/files/_errors"}]
                if self.errors
                else [],
                "deleted": [{"type": "Bundle", "url": f"{self.base}/files/_deleted"}]
                if self.deleted
                else [],
            }
            return JSONResponse(manifest)

        async def file(request: Request) -> Response:
            name = request.path_params["name"]
            if name == "_errors":
                data = self.errors
            elif name == "_deleted":
                data = self.deleted
            else:
                data = self.files[name][1]

            async def chunks() -> Any:
                for i in range(0, len(data), 65536):
                    yield data[i : i + 65536]

            return StreamingResponse(chunks(), media_type="application/fhir+ndjson")

        async def search(request: Request) -> Response:
            return Response(
                orjson.dumps(bundle([])),
                media_type="application/fhir+json",
                headers={"Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())},
            )

        return Starlette(
            routes=[
                Route("/fhir/$export", kickoff),
                Route("/fhir/job/1", status, methods=["GET", "DELETE"]),
                Route("/fhir/files/{name}", file),
                Route("/fhir/{rtype}", search),
            ]
        )


@contextmanager
def serve(ehr: CraftedEhr) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ehr.base = f"http://127.0.0.1:{port}/fhir"
    config = uvicorn.Config(ehr.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield ehr.base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
