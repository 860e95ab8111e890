"""Reading JSON that orjson refuses but that is valid JSON, and valid FHIR (pure).

orjson reads numbers as doubles and strings as valid Unicode, so it refuses two things a
FHIR server may rightly send: a decimal beyond double range (`1e400`: FHIR decimals have
arbitrary precision, https://hl7.org/fhir/R4/datatypes.html#decimal) and a lone surrogate
escape (`"\\ud83d"`, which JSON's grammar allows). `loads` reads those too: a number that
is not a finite double is kept as its text, a lone surrogate becomes U+FFFD in the parsed
object. The parsed object is what is indexed and displayed; the exact text is what the
store keeps, so nothing is lost. Anything else that is not JSON (NaN, a truncated text,
invalid UTF-8) still raises ValueError with the reason.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _number(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) and (value != 0.0 or _is_zero(text)) else text


def _is_zero(text: str) -> bool:
    mantissa = text.lower().split("e")[0]
    return not any(c in "123456789" for c in mantissa)


def _integer(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts: kept as text
        return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _clean(value: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value


def _sanitize(root: Any) -> Any:
    """Lone surrogates replaced in every string of `root` (keys too), without recursion
    (the text may be nested as deep as the parser allowed)."""
    if isinstance(root, str):
        return _clean(root)
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    value = _clean(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
                clean_key = _clean(key)
                if clean_key != key:
                    del node[key]
                node[clean_key] = value
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = _clean(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
    return root


def tolerant_loads(raw: bytes) -> Any:
    """`raw` parsed as JSON, tolerating what orjson refuses but JSON allows (module doc).
    ValueError (with the reason) for what is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"invalid UTF-8 at byte {e.start}") from e
    try:
        parsed = json.loads(
            text, parse_float=_number, parse_int=_integer, parse_constant=_no_constant
        )
    except RecursionError as e:
        raise ValueError("nested too deeply") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"malformed JSON: {e}") from e
    return _sanitize(parsed)


def loads(raw: bytes) -> Any:
    """orjson's reading when it can, else `tolerant_loads`. ValueError when not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return tolerant_loads(raw)
