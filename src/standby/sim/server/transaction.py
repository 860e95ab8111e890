"""Batch and transaction Bundles (FHIR R4 http.html#transaction).

A transaction is atomic: every entry runs inside one store write transaction, and any
failure rolls all of them back (the answer is then the failing entry's OperationOutcome).
POST entries get their ids first, so `urn:uuid:` fullUrls referenced anywhere in the bundle
are rewritten to `Type/id`; a conditional create (`ifNoneExist`) that matches a resource
gives its fullUrl that resource's id (http.html#trules), so a transaction sent again refers
to what the first one created. A batch runs each entry on its own and reports each status.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

import orjson

from standby.fhir import bundles
from standby.fhir.outcomes import FhirError
from standby.sim.server.rest import (
    check_type,
    conditional_match,
    if_match_version,
    read_current,
    write,
)
from standby.store import Store, StoredResource

JSON = dict[str, Any]


def _rewrite(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                mapping.get(v, v)
                if k == "reference" and isinstance(v, str)
                else _rewrite(v, mapping)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v, mapping) for v in node]
    return node


def _ok(sr: StoredResource, status: str, base: str) -> JSON:
    return bundles.response_entry(
        status,
        location=f"{sr.resource_type}/{sr.id}/_history/{sr.version_id}",
        etag=f'W/"{sr.version_id}"',
        last_modified=sr.last_updated,
    )


def run_entry(store: Store, entry: JSON, base: str) -> JSON:
    """One entry's interaction; its response entry, or FhirError."""
    req = entry.get("request") or {}
    method = str(req.get("method", "")).upper()
    url = str(req.get("url", "")).removeprefix(base + "/").lstrip("/")
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    res = entry.get("resource")
    if method == "POST" and len(parts) == 1:
        check_type(parts[0])
        if not isinstance(res, dict) or res.get("resourceType") != parts[0]:
            raise FhirError("invalid", f"POST {url}: resource must be a {parts[0]}")
        cond = req.get("ifNoneExist")
        if cond:
            found = conditional_match(store, parts[0], cond)
            if found is not None:
                return _ok(found, "200 OK", base)
        sr = write(lambda: store.create(res))
        return _ok(sr, "201 Created", base)
    if method == "PUT" and len(parts) == 2:
        check_type(parts[0])
        if (
            not isinstance(res, dict)
            or res.get("resourceType") != parts[0]
            or res.get("id") != parts[1]
        ):
            raise FhirError(
                "invalid", f"PUT {url}: resource must be a {parts[0]} with id {parts[1]}"
            )
        if_match = if_match_version(req.get("ifMatch"))
        sr = write(lambda: store.update(res, if_match=if_match))
        return _ok(sr, "201 Created" if sr.version_id == "1" else "200 OK", base)
    if method == "DELETE" and len(parts) == 2:
        check_type(parts[0])
        store.delete(parts[0], parts[1])
        return bundles.response_entry("204 No Content")
    if method == "GET" and len(parts) == 2:
        sr = read_current(store, parts[0], parts[1])
        e = _ok(sr, "200 OK", base)
        e["resource"] = sr.json()
        return e
    if method == "GET" and len(parts) == 1:
        check_type(parts[0])
        try:
            page = store.search(parts[0], parse_qsl(query), count=50)
        except ValueError as e:
            raise FhirError("invalid", str(e)) from e
        b = bundles.searchset(
            [(f"{base}/{s.resource_type}/{s.id}", s.json(), "match") for s in page.resources],
            links=[("self", f"{base}/{url}")],
        )
        return {"resource": b, "response": {"status": "200 OK"}}
    raise FhirError("not-supported", f"entry {method} {url} is not supported")


def process(store: Store, bundle: JSON, base: str) -> JSON:
    """The response Bundle of a batch or transaction Bundle."""
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise FhirError("invalid", "POST to the base needs a Bundle of type transaction or batch")
    entries = bundle.get("entry") or []
    if kind == "batch":
        out = []
        for e in entries:
            try:
                out.append(run_entry(store, e, base))
            except FhirError as err:
                out.append(bundles.response_entry(str(err.status), outcome=err.outcome))
        return bundles.response_bundle("batch", out)
    # DELETE, POST, PUT, GET: http.html#trules processing order
    order = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
    results: dict[int, JSON] = {}
    with store.transaction():
        # assign ids to POSTs (a conditional create that matches takes the match's id),
        # rewrite urn:uuid references, then run atomically under the one write lock
        mapping: dict[str, str] = {}
        for e in entries:
            req = e.get("request") or {}
            res = e.get("resource")
            if str(req.get("method", "")).upper() == "POST" and isinstance(res, dict):
                rtype = str(res.get("resourceType"))
                cond = req.get("ifNoneExist")
                found = conditional_match(store, rtype, cond) if cond else None
                new = found.id if found is not None else uuid.uuid4().hex
                full = e.get("fullUrl")
                if isinstance(full, str) and full.startswith("urn:uuid:"):
                    mapping[full] = f"{rtype}/{new}"
                res["id"] = new
        if mapping:
            entries = [_rewrite(e, mapping) for e in entries]
        indexed = sorted(
            enumerate(entries),
            key=lambda ie: order.get(
                str((ie[1].get("request") or {}).get("method", "")).upper(), 4
            ),
        )
        for i, e in indexed:
            results[i] = run_entry(store, e, base)
    return bundles.response_bundle("transaction", [results[i] for i in range(len(entries))])


def parse(raw: bytes) -> JSON:
    try:
        b = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise FhirError("structure", f"body is not JSON: {e}") from e
    if not isinstance(b, dict):
        raise FhirError("structure", "body is not a JSON object")
    return b
