"""Plain records of who uses Standby: accounts, sessions, audit events, break-the-glass
accesses (stored by `repository`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    username: str
    password_hash: str
    role: str
    units: tuple[str, ...]  # unit Location ids; "*" means every unit
    display_name: str
    active: bool
    created_at: str

    @property
    def all_units(self) -> bool:
        return "*" in self.units

    @property
    def roles(self) -> tuple[str, ...]:
        """One role per account; a tuple for pages that check sets of roles."""
        return (self.role,)

    def assigned_to(self, unit_id: str | None) -> bool:
        return self.all_units or (unit_id is not None and unit_id in self.units)


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    username: str
    csrf: str
    created_at: str
    last_seen: str
    address: str


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit log: who did what to which patient, on which page, from where."""

    at: str
    username: str
    role: str
    action: str  # view, search, print, break-glass, login, login-failed, logout, export
    patient_id: str | None
    page: str
    address: str
    detail: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class BreakGlass:
    id: str
    at: str
    username: str
    patient_id: str
    reason: str
    address: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the admin's audit search (all optional, ANDed)."""

    username: str | None = None
    patient_id: str | None = None
    action: str | None = None
    patient_ids: tuple[str, ...] | None = None  # any of these patients (() matches none)
    since: str | None = None  # ISO instant or date, inclusive
    until: str | None = None  # ISO instant or date, exclusive
    limit: int = 500
