"""CSRF protection for every form (docs/web.md#csrf).

Logged in: each session has a random token, put in every form as the hidden field
`csrf_token` (or sent as the `X-CSRF-Token` header); a POST without the session's token is
refused with 403. The login form, before any session, uses a double-submit cookie: a
random token in a cookie and in the form, which must match.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_FORM_BYTES = 1024 * 1024


def token_from(body: bytes, content_type: str, header: str | None) -> str | None:
    """The CSRF token sent with a POST: the header, else the url-encoded form field."""
    if header:
        return header
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(FIELD)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data"):
        return _multipart_field(body, content_type)
    return None


def _multipart_field(body: bytes, content_type: str) -> str | None:
    marker = f'name="{FIELD}"'.encode()
    i = body.find(marker)
    if i < 0:
        return None
    start = body.find(b"\r\n\r\n", i)
    if start < 0:
        return None
    end = body.find(b"\r\n", start + 4)
    return body[start + 4 : end].decode("ascii", "replace") if end > 0 else None


def matches(expected: str | None, sent: str | None) -> bool:
    """Constant-time comparison of bytes (any text a client sends, not only ASCII)."""
    if not expected or not sent:
        return False
    return hmac.compare_digest(
        str(expected).encode("utf-8", "replace"), str(sent).encode("utf-8", "replace")
    )
