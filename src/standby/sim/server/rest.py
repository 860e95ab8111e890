"""The FHIR R4 RESTful API of the simulated EHR (http.html): read, vread, search (GET and
POST `_search`, offset paging with `Bundle.link` next), create (conditional with
`If-None-Exist`), update (`If-Match` W/"n" → 412 when stale), delete (410 on a later read),
history (instance, type, system; `_since`, `_count`) and batch/transaction Bundles
(http.html#transaction: a transaction is atomic and rewrites `urn:uuid:` references).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.fhir import bundles
from standby.fhir.outcomes import FhirError, outcome
from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store import Store, StoredResource, VersionConflict

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 1000
DEFAULT_COUNT = 50
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_VERSION_RE = re.compile(r'^(?:W/)?"?([^"]+)"?$')
_PAGING = {"_count", "_offset", "_getpagesoffset", "_format", "_total", "_sort", "_pretty"}


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def check_type(rtype: str) -> None:
    if rtype not in RESOURCE_TYPES:
        raise FhirError("not-supported", f"unknown resource type {rtype!r}", status=404)


def resource_headers(sr: StoredResource, base: str) -> dict[str, str]:
    from datetime import datetime
    from email.utils import format_datetime

    lu = datetime.fromisoformat(sr.last_updated.replace("Z", "+00:00"))
    return {
        "ETag": f'W/"{sr.version_id}"',
        "Last-Modified": format_datetime(lu, usegmt=True),
        "Location": f"{base}/{sr.resource_type}/{sr.id}/_history/{sr.version_id}",
    }


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        res = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise FhirError("structure", f"body is not JSON: {e}", status=400) from e
    if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
        raise FhirError("structure", "body is not a FHIR resource (no resourceType)", status=400)
    return res


def _count(params: list[tuple[str, str]]) -> int:
    for k, v in params:
        if k == "_count":
            try:
                n = int(v)
            except ValueError as e:
                raise FhirError("invalid", f"_count must be an integer: {v!r}") from e
            if n < 0:
                raise FhirError("invalid", "_count must be >= 0")
            return min(n, MAX_COUNT)
    return DEFAULT_COUNT


def _offset(params: list[tuple[str, str]]) -> int:
    for k, v in params:
        if k in ("_offset", "_getpagesoffset"):
            try:
                return max(0, int(v))
            except ValueError as e:
                raise FhirError("invalid", f"{k} must be an integer") from e
    return 0


class Rest:
    """The handlers; every store call runs in the thread pool."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- read / vread ----------------------------------------------------------------
    def _read(self, rtype: str, id: str) -> StoredResource:
        check_type(rtype)
        sr = self.store.read(rtype, id)
        if sr is None:
            raise FhirError("not-found", f"{rtype}/{id} is not known")
        if sr.deleted:
            raise FhirError(
                "deleted", f"{rtype}/{id} was deleted", headers={"ETag": f'W/"{sr.version_id}"'}
            )
        return sr

    async def read(self, request: Request) -> Response:
        rtype, id = request.path_params["type"], request.path_params["id"]
        sr = await run_in_threadpool(self._read, rtype, id)
        h = resource_headers(sr, base_url(request))
        h.pop("Location")
        return Response(sr.body, media_type=FHIR_JSON, headers=h)

    async def vread(self, request: Request) -> Response:
        p = request.path_params
        check_type(p["type"])
        sr = await run_in_threadpool(self.store.vread, p["type"], p["id"], p["vid"])
        if sr is None:
            raise FhirError("not-found", f"{p['type']}/{p['id']} has no version {p['vid']}")
        if sr.deleted:
            raise FhirError("deleted", f"version {p['vid']} of {p['type']}/{p['id']} is a delete")
        h = resource_headers(sr, base_url(request))
        h.pop("Location")
        return Response(sr.body, media_type=FHIR_JSON, headers=h)

    # ---- search ----------------------------------------------------------------------
    async def search_get(self, request: Request) -> Response:
        params = list(parse_qsl(request.url.query, keep_blank_values=True))
        return await self._search(request, request.path_params["type"], params)

    async def search_post(self, request: Request) -> Response:
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            raise FhirError(
                "invalid", "POST _search needs application/x-www-form-urlencoded", status=415
            )
        raw = (await request.body()).decode()
        params = list(parse_qsl(request.url.query, keep_blank_values=True))
        params += parse_qsl(raw, keep_blank_values=True)
        return await self._search(request, request.path_params["type"], params)

    async def _search(
        self, request: Request, rtype: str, params: list[tuple[str, str]]
    ) -> Response:
        check_type(rtype)
        count, offset = _count(params), _offset(params)
        sort: list[str] = []
        for k, v in params:
            if k == "_sort":
                sort += [s for s in v.split(",") if s]
        want_total = any(k == "_total" and v in ("accurate", "estimate") for k, v in params)
        criteria = [(k, v) for k, v in params if k not in _PAGING]

        def run() -> Any:
            try:
                return self.store.search(
                    rtype, criteria, sort=sort, count=count + 1, offset=offset, total=want_total
                )
            except ValueError as e:
                raise FhirError("invalid", f"search not supported: {e}") from e

        page = await run_in_threadpool(run)
        more = len(page.resources) > count
        base = base_url(request)
        keep = [(k, v) for k, v in params if k not in ("_offset", "_getpagesoffset", "_count")]

        def link(off: int) -> str:
            q = urlencode([*keep, ("_count", str(count)), ("_offset", str(off))])
            return f"{base}/{rtype}?{q}"

        links = [("self", link(offset))]
        if more:
            links.append(("next", link(offset + count)))
        if offset > 0:
            links.append(("previous", link(max(0, offset - count))))
        entries = [
            (f"{base}/{sr.resource_type}/{sr.id}", sr.json(), "match")
            for sr in page.resources[:count]
        ]
        return fhir_response(bundles.searchset(entries, links=links, total=page.total))

    # ---- history ---------------------------------------------------------------------
    async def history_instance(self, request: Request) -> Response:
        rtype, id = request.path_params["type"], request.path_params["id"]
        check_type(rtype)
        params = list(parse_qsl(request.url.query))
        since = dict(params).get("_since")
        count = _count(params)
        versions = await run_in_threadpool(self.store.history, rtype, id)
        if not versions:
            raise FhirError("not-found", f"{rtype}/{id} is not known")
        base = base_url(request)
        total = len(versions)
        if since:
            versions = [v for v in versions if v.last_updated > since]
        entries = [_history_entry(base, v) for v in versions[:count]]
        self_url = f"{base}/{rtype}/{id}/_history?{request.url.query}"
        return fhir_response(bundles.history(entries, links=[("self", self_url)], total=total))

    async def history_type(self, request: Request) -> Response:
        rtype = request.path_params["type"]
        check_type(rtype)
        return await self._history_changes(request, [rtype], f"{rtype}/_history")

    async def history_system(self, request: Request) -> Response:
        return await self._history_changes(request, None, "_history")

    async def _history_changes(
        self, request: Request, types: list[str] | None, path: str
    ) -> Response:
        """Type and system history: the current version of every resource changed after
        `_since`, oldest change first, paged by the store's change sequence (`_after`)."""
        params = list(parse_qsl(request.url.query))
        d = dict(params)
        since, count = d.get("_since"), _count(params)
        try:
            after = int(d.get("_after", "0"))
        except ValueError as e:
            raise FhirError("invalid", "_after must be an integer") from e
        if since is not None and not re.match(
            r"^\d{4}(-\d\d(-\d\d(T[\d:.]+(Z|[+-]\d\d:\d\d)?)?)?)?$", since
        ):
            raise FhirError("invalid", f"_since is not an instant: {since!r}")
        rows = await run_in_threadpool(
            lambda: self.store.changes_since(since, types=types, limit=count, after_seq=after)
        )
        base = base_url(request)
        entries = [_history_entry(base, sr) for _seq, sr in rows]
        links = [("self", f"{base}/{path}?{request.url.query}")]
        if len(rows) == count and rows:
            q = [(k, v) for k, v in params if k != "_after"] + [("_after", str(rows[-1][0]))]
            links.append(("next", f"{base}/{path}?{urlencode(q)}"))
        return fhir_response(bundles.history(entries, links=links, total=None))

    # ---- create / update / delete ---------------------------------------------------
    async def create(self, request: Request) -> Response:
        rtype = request.path_params["type"]
        check_type(rtype)
        res = parse_body(await request.body())
        if res["resourceType"] != rtype:
            raise FhirError("invalid", f"resourceType {res['resourceType']} posted to {rtype}")
        cond = request.headers.get("if-none-exist")
        base = base_url(request)

        def run() -> tuple[StoredResource, int]:
            if cond:
                existing = self._conditional_match(rtype, cond)
                if existing is not None:
                    return existing, 200
            res.pop("id", None)
            return self._write(lambda: self.store.create(res)), 201

        sr, status = await run_in_threadpool(run)
        return Response(
            sr.body, status_code=status, media_type=FHIR_JSON, headers=resource_headers(sr, base)
        )

    def _conditional_match(self, rtype: str, query: str) -> StoredResource | None:
        params = parse_qsl(query.split("?", 1)[-1], keep_blank_values=True)
        try:
            page = self.store.search(rtype, params, count=2)
        except ValueError as e:
            raise FhirError("invalid", f"If-None-Exist not supported: {e}") from e
        if len(page.resources) > 1:
            raise FhirError("multiple-matches", f"If-None-Exist {query!r} matches several")
        return page.resources[0] if page.resources else None

    @staticmethod
    def _write(fn: Callable[[], StoredResource]) -> StoredResource:
        try:
            return fn()
        except VersionConflict as e:
            raise FhirError("conflict", f"version conflict: {e}", status=412) from e
        except ValueError as e:
            raise FhirError("processing", f"resource rejected: {e}", status=422) from e

    async def update(self, request: Request) -> Response:
        rtype, id = request.path_params["type"], request.path_params["id"]
        check_type(rtype)
        res = parse_body(await request.body())
        if res["resourceType"] != rtype or res.get("id") != id:
            raise FhirError("invalid", f"body must be a {rtype} with id {id!r}")
        if_match = _version(request.headers.get("if-match"))
        sr = await run_in_threadpool(self._write, lambda: self.store.update(res, if_match=if_match))
        status = 201 if sr.version_id == "1" else 200
        return Response(
            sr.body,
            status_code=status,
            media_type=FHIR_JSON,
            headers=resource_headers(sr, base_url(request)),
        )

    async def delete(self, request: Request) -> Response:
        rtype, id = request.path_params["type"], request.path_params["id"]
        check_type(rtype)
        sr = await run_in_threadpool(self.store.delete, rtype, id)
        headers = {"ETag": f'W/"{sr.version_id}"'} if sr is not None else {}
        return fhir_response(
            outcome("informational", f"{rtype}/{id} deleted", severity="information"),
            headers=headers,
        )


def _version(header: str | None) -> str | None:
    if not header:
        return None
    m = _VERSION_RE.match(header.strip())
    if not m:
        raise FhirError("invalid", f"If-Match is not an ETag: {header!r}")
    return m.group(1)


def _history_entry(base: str, sr: StoredResource) -> dict[str, Any]:
    return bundles.history_entry(
        f"{base}/{sr.resource_type}/{sr.id}",
        None if sr.deleted else sr.json(),
        resource_type=sr.resource_type,
        id=sr.id,
        version_id=sr.version_id,
        last_updated=sr.last_updated,
        deleted=sr.deleted,
        first_version=sr.version_id == "1",
    )


def new_id() -> str:
    return uuid.uuid4().hex
