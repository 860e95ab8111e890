"""The admin API (never faulted, never needs a token): `GET|POST /_admin/faults` (the fault
switches), `POST /_admin/clients` and `DELETE /_admin/clients/{client_id}` (SMART client
registration and revocation), `GET /_admin/changes?since=` (the change feed's own log),
`POST /_admin/lab-result` (the lab results one inpatient's test now: a demo's critical
potassium, written like the feed's changes and so also sent by the interface engine)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from standby.sim.server.context import ehr_context


async def admin_faults(request: Request) -> Response:
    faults = ehr_context(request).faults
    if request.method == "POST":
        try:
            d = orjson.loads(await request.body())
            faults.set(
                error_rate=None if d.get("error_rate") is None else float(d["error_rate"]),
                latency_ms=None if d.get("latency_ms") is None else int(d["latency_ms"]),
                outage=None if d.get("outage") is None else bool(d["outage"]),
            )
        except (ValueError, TypeError, AttributeError) as e:
            return JSONResponse({"error": str(e)}, 400)
    return JSONResponse(faults.as_json())


async def admin_clients(request: Request) -> Response:
    auth = ehr_context(request).auth
    if auth is None:
        return JSONResponse({"error": "auth is off"}, 400)
    if request.method == "DELETE":
        gone = auth.revoke(request.path_params["client_id"])
        return JSONResponse({"revoked": gone}, 200 if gone else 404)
    try:
        d = orjson.loads(await request.body())
        auth.register(d["client_id"], d["jwks"], d.get("scope", "system/*.read"))
    except (ValueError, KeyError, TypeError) as e:
        return JSONResponse({"error": str(e)}, 400)
    return JSONResponse({"registered": d["client_id"]}, 201)


async def admin_changes(request: Request) -> Response:
    feed = ehr_context(request).feed
    since = request.query_params.get("since")
    log = feed.log_since(since) if feed is not None else []
    return JSONResponse({"running": feed is not None and feed.running, "changes": log})


async def admin_lab_result(request: Request) -> Response:
    """Body: {"patient": id, "loinc": "2823-3", "value": 6.9, "flag": "HH"}."""
    feed = ehr_context(request).feed
    if feed is None:
        return JSONResponse({"error": "the change feed is off"}, 400)
    try:
        d = orjson.loads(await request.body())
        written = feed.lab_result(
            str(d["patient"]), str(d.get("loinc", "2823-3")), float(d["value"]), d.get("flag", "N")
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return JSONResponse({"error": str(e)}, 400)
    return JSONResponse({"written": written}, 201)


def routes() -> list[BaseRoute]:
    return [
        Route("/_admin/faults", admin_faults, methods=["GET", "POST"]),
        Route("/_admin/clients", admin_clients, methods=["POST"]),
        Route("/_admin/clients/{client_id}", admin_clients, methods=["DELETE"]),
        Route("/_admin/changes", admin_changes, methods=["GET"]),
        Route("/_admin/lab-result", admin_lab_result, methods=["POST"]),
    ]
