"""Reading what the source sends: resources out of search and history Bundles, each kept
as the exact JSON text the source sent (decimals keep their precision) beside that text
parsed, so that the gate (`standby.fhir.gate.admit`) and the store need not parse it again.

A page is never parsed whole. One pass over its text finds where each `entry[i]` and its
`resource` begin and end (`scan`); entries are then parsed one at a time as the caller
asks for them (`BundleReader.entries`), so a page of 80 MB is held once, as bytes, plus
the entries of the batch being written, never as one tree of Python objects. An entry
that orjson refuses is read again tolerantly (`standby.fhir.tolerant_json`: decimals
beyond double range kept as text, lone surrogates kept in the text); one that still
cannot be read comes out with `error` set (and the type and id that could be seen), for
the quarantine, and the rest of the page is read. A page that is not whole (truncated,
unbalanced) yields the entries it holds and says so in `BundleReader.error`.

Bundle: https://hl7.org/fhir/R4/bundle.html (`entry.resource`, `entry.search.mode`,
`link` with relation `next`; in history bundles `entry.request.method` and
`entry.response.status`, https://hl7.org/fhir/R4/http.html#history).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from standby.fhir import tolerant_json
from standby.fhir.gate import peek_type_and_id

JSON = dict[str, Any]
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


@dataclass(frozen=True, slots=True)
class EntrySpan:
    start: int
    end: int
    resource: tuple[int, int] | None  # where its `resource` object is, if it has one


@dataclass
class Scan:
    """What one pass over a Bundle's text found."""

    resource_type: str | None = None  # the top-level resourceType
    bundle_type: str | None = None  # the top-level type (searchset, history, ...)
    entries: list[EntrySpan] = field(default_factory=list)
    link: tuple[int, int] | None = None
    error: str | None = None  # why the text is not a whole JSON object


def scan(raw: bytes) -> Scan:
    """Spans of every `entry[i]`, its `resource`, and of `link`, in one pass without
    parsing (no recursion: any depth of nesting is only a longer list)."""
    out = Scan()
    stack: list[list[Any]] = []  # [bracket, current key]
    last: bytes | None = None
    after_colon = False
    entry_start: int | None = None
    res_span: tuple[int, int] | None = None
    res_start: int | None = None
    link_start: int | None = None
    closed_at: int | None = None
    for m in _TOKEN.finditer(raw):
        t = m.group()
        c = t[:1]
        if closed_at is not None:
            out.error = f"text after the end of the Bundle at byte {m.start()}"
            return out
        if c == b'"':
            if after_colon and len(stack) == 1 and stack[0][1] == b'"resourceType"':
                out.resource_type = t[1:-1].decode("utf-8", "replace")
            elif after_colon and len(stack) == 1 and stack[0][1] == b'"type"':
                out.bundle_type = t[1:-1].decode("utf-8", "replace")
            last = t
            after_colon = False
            continue
        if c == b":":
            if stack:
                stack[-1][1] = last
            after_colon = True
            continue
        after_colon = False
        depth = len(stack)
        if c in (b"{", b"["):
            if depth == 0 and c != b"{":
                out.error = "not a JSON object"
                return out
            top_key = stack[0][1] if stack else None
            if depth == 1 and c == b"[" and top_key == b'"link"':
                link_start = m.start()
            elif depth == 2 and c == b"{" and top_key == b'"entry"' and stack[1][0] == b"[":
                entry_start, res_span = m.start(), None
            elif (
                depth == 3
                and c == b"{"
                and entry_start is not None
                and stack[2][1] == b'"resource"'
            ):
                res_start = m.start()
            stack.append([c, None])
            continue
        if not stack:
            out.error = f"unbalanced '{c.decode()}' at byte {m.start()}"
            return out
        opened = stack.pop()[0]
        if (opened, c) not in ((b"{", b"}"), (b"[", b"]")):
            out.error = f"mismatched '{c.decode()}' at byte {m.start()}"
            return out
        depth = len(stack)
        if depth == 3 and res_start is not None and c == b"}":
            res_span, res_start = (res_start, m.end()), None
        elif depth == 2 and entry_start is not None and c == b"}":
            out.entries.append(EntrySpan(entry_start, m.end(), res_span))
            entry_start = None
        elif depth == 1 and link_start is not None and c == b"]":
            out.link, link_start = (link_start, m.end()), None
        elif depth == 0:
            closed_at = m.end()
    if stack:
        out.error = f"truncated: the text ends inside the Bundle ({len(raw)} bytes)"
    elif closed_at is None:
        out.error = "not a JSON object"
    return out


def resource_spans(raw: bytes) -> list[tuple[int, int]]:
    """Byte spans of every `entry[i].resource` object in a Bundle's JSON text, in order."""
    return [e.resource for e in scan(raw).entries if e.resource is not None]


@dataclass
class Entry:
    raw: bytes | None  # the resource's exact text (None for a delete in a history bundle)
    resource: JSON | None
    mode: str | None  # search mode: match / include / outcome
    method: str | None  # history: POST / PUT / DELETE
    url: str | None  # history: request.url (e.g. "Observation/123")
    status: str | None = None  # history: response.status (e.g. "410 Gone")
    etag: str | None = None  # history: response.etag (W/"3")
    last_modified: str | None = None  # history: response.lastModified
    error: str | None = None  # why the entry could not be read (then raw is its text)
    seen_type: str | None = None  # for an unreadable entry: the type and id it shows
    seen_id: str | None = None


def _str(d: JSON, key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _entry(raw: bytes, span: EntrySpan) -> Entry:
    text = raw[span.start : span.end]
    res_text = raw[span.resource[0] : span.resource[1]] if span.resource else None
    try:
        e = tolerant_json.loads(text)
    except ValueError as exc:
        seen = res_text if res_text is not None else text
        rtype, rid = peek_type_and_id(seen)
        return Entry(seen, None, None, None, None, error=str(exc), seen_type=rtype, seen_id=rid)
    if not isinstance(e, dict):  # cannot happen for a span that opens with "{"
        return Entry(text, None, None, None, None, error="entry is not an object")
    res = e.get("resource")
    request: JSON = e["request"] if isinstance(e.get("request"), dict) else {}
    search: JSON = e["search"] if isinstance(e.get("search"), dict) else {}
    response: JSON = e["response"] if isinstance(e.get("response"), dict) else {}
    return Entry(
        raw=res_text if isinstance(res, dict) else None,
        resource=res if isinstance(res, dict) else None,
        mode=_str(search, "mode"),
        method=_str(request, "method"),
        url=_str(request, "url"),
        status=_str(response, "status"),
        etag=_str(response, "etag"),
        last_modified=_str(response, "lastModified"),
    )


class BundleReader:
    """One page of a search or history Bundle, read entry by entry (module doc)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        found = scan(raw)
        if found.resource_type != "Bundle":
            what = f"a {found.resource_type}" if found.resource_type else found.error
            raise ValueError(f"the answer is not a Bundle ({what or 'no resourceType'})")
        self.error = found.error
        self.bundle_type = found.bundle_type
        self.spans = found.entries
        self.next_url: str | None = None
        if found.link is not None:
            try:
                links = orjson.loads(raw[found.link[0] : found.link[1]])
            except orjson.JSONDecodeError:
                links = []
            for link in links if isinstance(links, list) else []:
                if isinstance(link, dict) and link.get("relation") == "next":
                    url = link.get("url")
                    self.next_url = url if isinstance(url, str) else None

    def __len__(self) -> int:
        return len(self.spans)

    def entries(self) -> Iterator[Entry]:
        for span in self.spans:
            yield _entry(self.raw, span)


@dataclass
class Page:
    entries: list[Entry]
    next_url: str | None
    error: str | None = None


def parse_bundle(raw: bytes) -> Page:
    """A whole page at once (small pages). ValueError when it is not a Bundle."""
    reader = BundleReader(raw)
    return Page(list(reader.entries()), reader.next_url, reader.error)
