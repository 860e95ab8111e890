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

import jwt
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
        self,
        files: dict[str, tuple[str, bytes]] | None = None,
        errors: bytes = b"",
        deleted: bytes = b"",
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.files = files or {}
        self.clients = clients or {}  # client id → public key; None → auth off
        self.revoked: set[str] = set()
        self.tokens: set[str] = set()
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

        async def smart_config(request: Request) -> Response:
            return JSONResponse({"token_endpoint": f"{self.base}/auth/token"})

        async def token(request: Request) -> Response:
            form = await request.form()
            assertion = str(form.get("client_assertion", ""))
            try:
                client_id = jwt.decode(assertion, options={"verify_signature": False})["iss"]
                key = self.clients[client_id]
                jwt.decode(
                    assertion,
                    key,
                    algorithms=["ES384", "RS384"],
                    audience=f"{self.base}/auth/token",
                )
            except (jwt.InvalidTokenError, KeyError, TypeError) as e:
                return JSONResponse(
                    {"error": "invalid_client", "error_description": type(e).__name__}, 401
                )
            if client_id in self.revoked:
                return JSONResponse(
                    {"error": "invalid_client", "error_description": "client revoked"}, 401
                )
            tok = f"tok{len(self.tokens)}"
            self.tokens.add(tok)
            return JSONResponse({"access_token": tok, "token_type": "bearer", "expires_in": 300})

        app = Starlette(
            routes=[
                Route("/fhir/.well-known/smart-configuration", smart_config),
                Route("/fhir/auth/token", token, methods=["POST"]),
                Route("/fhir/$export", kickoff),
                Route("/fhir/job/1", status, methods=["GET", "DELETE"]),
                Route("/fhir/files/{name}", file),
                Route("/fhir/{rtype}", search),
            ]
        )
        if not self.clients:
            return app

        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and "/auth/" not in path and ".well-known" not in path:
                auth = dict(scope["headers"]).get(b"authorization", b"").decode()
                if auth.removeprefix("Bearer ") not in self.tokens:
                    await Response(status_code=401)(scope, receive, send)
                    return
            await app(scope, receive, send)

        return guarded  # type: ignore[return-value]


@contextmanager
def serve(ehr: Any) -> Iterator[str]:
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
