"""Time as the monitor stores and shows it: aware UTC datetimes, ISO 8601 text."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """Fixed-width ISO text (microseconds, +00:00) so that strings sort as times do."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def shown(dt: datetime | None) -> str:
    """For people: `2026-11-28 14:05 UTC`."""
    return "—" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
