"""Hostile text planted in a generated hospital: what an attacker (or a careless
interface) can put in any string the EHR holds, to prove that every page and every PDF
prints it as text and nothing else.

`plant(src, dst, markup)` copies a generated hospital's NDJSON with `markup` appended to
every string a person reads: names, aliases, displays, texts, notes, addresses and the
identifiers' values (MRNs). Codes, ids, references, dates and statuses are left alone, so
the data still means what it did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

# the keys whose string values people read (and the pages print)
READ_KEYS = frozenset(
    {
        "text",
        "display",
        "family",
        "given",
        "prefix",
        "suffix",
        "alias",
        "name",
        "description",
        "comment",
        "line",
        "city",
        "patientInstruction",
        "title",
    }
)


def _walk(node: Any, markup: str, key: str = "", in_identifier: bool = False) -> Any:
    if isinstance(node, dict):
        if node.get("resourceType") is None and "value" in node and in_identifier:
            node = {**node, "value": f"{node['value']}{markup}"}
        return {
            k: (v if k in ("div",) else _walk(v, markup, k, k == "identifier"))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_walk(v, markup, key, in_identifier) for v in node]
    if isinstance(node, str) and key in READ_KEYS:
        return f"{node}{markup}"
    return node


def plant(src: Path, dst: Path, markup: str) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.ndjson")):
        lines = [
            orjson.dumps(_walk(orjson.loads(line), markup)) for line in f.read_bytes().splitlines()
        ]
        (dst / f.name).write_bytes(b"\n".join(lines) + b"\n")
    return dst


def set_aliases(data: Path, aliases: dict[str, str]) -> None:
    """Give the Locations named by id in `aliases` that alias (and name)."""
    path = data / "Location.ndjson"
    out = []
    for line in path.read_bytes().splitlines():
        loc = orjson.loads(line)
        if loc["id"] in aliases:
            loc["alias"] = [aliases[loc["id"]]]
            loc["name"] = f"{aliases[loc['id']]} ward"
        out.append(orjson.dumps(loc))
    path.write_bytes(b"\n".join(out) + b"\n")
