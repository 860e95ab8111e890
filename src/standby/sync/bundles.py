"""Reading what the source sends: resources out of search Bundles, each kept as the exact
JSON text the source sent (decimals keep their precision) beside the object parsed with
the Bundle, so that the gate (`standby.fhir.gate.admit`) and the store need not parse it
again.

Bundle: https://hl7.org/fhir/R4/bundle.html (`entry.resource`, `entry.search.mode`,
`link` with relation `next`, `entry.request` / `entry.response` in history bundles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

JSON = dict[str, Any]
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


def resource_spans(raw: bytes) -> list[tuple[int, int]]:
    """Byte spans of every `entry[i].resource` object in a Bundle's JSON text, in order."""
    stack: list[list[Any]] = []  # [bracket, current key]
    last: bytes | None = None
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for m in _TOKEN.finditer(raw):
        t = m.group()
        c = t[:1]
        if c == b'"':
            last = t
        elif c == b":":
            if stack:
                stack[-1][1] = last
        elif c in (b"{", b"["):
            if (
                c == b"{"
                and len(stack) == 3
                and stack[0][1] == b'"entry"'
                and stack[2][1] == b'"resource"'
            ):
                start = m.start()
            stack.append([c, None])
        else:
            if stack:
                stack.pop()
            if c == b"}" and len(stack) == 3 and start is not None:
                spans.append((start, m.end()))
                start = None
    return spans


@dataclass
class Entry:
    raw: bytes | None  # the resource's exact text (None for a delete in a history bundle)
    resource: JSON | None
    mode: str | None  # search mode: match / include / outcome
    method: str | None  # history: POST / PUT / DELETE
    url: str | None  # history: request.url (e.g. "Observation/123")


@dataclass
class Page:
    entries: list[Entry]
    next_url: str | None


def parse_bundle(raw: bytes) -> Page:
    """A search or history Bundle page. Raises ValueError when it is not a Bundle."""
    body = orjson.loads(raw)
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise ValueError("the answer is not a Bundle")
    next_url = None
    for link in body.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            next_url = link.get("url")
    entries_json = [e for e in body.get("entry") or [] if isinstance(e, dict)]
    spans = resource_spans(raw)
    with_resource = [e for e in entries_json if isinstance(e.get("resource"), dict)]
    exact = len(spans) == len(with_resource)
    out: list[Entry] = []
    i = 0
    for e in entries_json:
        res = e.get("resource")
        request: JSON = e["request"] if isinstance(e.get("request"), dict) else {}
        search: JSON = e["search"] if isinstance(e.get("search"), dict) else {}
        text: bytes | None = None
        if isinstance(res, dict):
            text = raw[spans[i][0] : spans[i][1]] if exact else orjson.dumps(res)
            i += 1
        out.append(
            Entry(
                raw=text,
                resource=res if isinstance(res, dict) else None,
                mode=search.get("mode"),
                method=request.get("method"),
                url=request.get("url"),
            )
        )
    return Page(out, next_url if isinstance(next_url, str) else None)
