"""The instants the accounts tables hold: UTC ISO 8601 text with milliseconds and `Z`
(`2026-11-29T14:05:09.042Z`), which sorts as time does; the viewer writes the same form
(`standby.web.times`)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with milliseconds: sorts as time does."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(text: str | None) -> datetime | None:
    """An instant written by `iso` (or any ISO 8601 text) as an aware datetime."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
