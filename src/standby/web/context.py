"""`WebContext`: what every request handler needs (settings, store, clock, sessions,
templates), held in `app.state.web`; and `render`, which puts the header, the banner and
the user's menu around a template."""

from __future__ import annotations

import asyncio
import functools
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import anyio
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from standby.accounts.lockout import LoginPolicy, RefusalLog
from standby.accounts.records import AuditEvent
from standby.accounts.roles import Permission, can
from standby.clinical.read_cache import ReadCache
from standby.journal import words as journal_words
from standby.settings import Settings
from standby.store.base import Store
from standby.store.group_commit import Alongside, GroupCommit
from standby.web import header as header_mod
from standby.web import times
from standby.web.refusals import RefusalWatch
from standby.web.sessions import SessionManager

TEMPLATE_DIR = Path(__file__).parent / "templates"


def unit_text(value: object) -> str:
    """A value without UCUM annotations: `2 {score}` → `2`."""
    return re.sub(r"\s*\{[^}]*\}", "", str(value or ""))


def environment(tz: tzinfo = UTC) -> jinja2.Environment:
    """The templates, with the time filters showing times in `tz`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["shown"] = functools.partial(times.shown, tz=tz)
    env.filters["clock"] = functools.partial(times.clock_time, tz=tz)
    env.filters["clock_seconds"] = functools.partial(times.clock_seconds, tz=tz)
    env.filters["short"] = functools.partial(times.short, tz=tz)
    env.filters["unit_text"] = unit_text
    env.filters["ago"] = times.ago
    env.globals["what"] = journal_words.what  # a journal entry in a clinician's words
    env.globals["details"] = journal_words.details
    return env


@dataclass
class WebContext:
    settings: Settings
    store: Store
    clock: times.Clock
    sessions: SessionManager
    policy: LoginPolicy
    refusals: RefusalLog
    refusal_watch: RefusalWatch
    break_glass_for: timedelta
    audit_log: GroupCommit[AuditEvent | Alongside]
    summaries: ReadCache
    zone: tzinfo = UTC  # the hospital's time zone: times are shown in it
    env: jinja2.Environment = field(default_factory=environment)
    banner_templates: list[str] = field(default_factory=list)
    nav_links: list[tuple[str, str, Permission | None]] = field(default_factory=list)
    _headers: header_mod.HeaderCache = field(default_factory=header_mod.HeaderCache)
    _login_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
        field(default_factory=weakref.WeakKeyDictionary)
    )

    def login_limiter(self) -> anyio.CapacityLimiter:
        """The threads that check passwords (`login_threads`): argon2 is slow on purpose,
        so a storm of logins queues here and never takes the threads that serve pages
        (anyio's default limiter). One per event loop (a limiter belongs to its loop; a
        server has one, tests may have several)."""
        loop = asyncio.get_running_loop()
        limiter = self._login_limiters.get(loop)
        if limiter is None:
            limiter = anyio.CapacityLimiter(max(1, self.settings.login_threads))
            self._login_limiters[loop] = limiter
        return limiter

    def now(self) -> datetime:
        """The clock's time in the hospital's zone (the read model works in the zone of
        the `now` it is given)."""
        return self.clock().astimezone(self.zone)

    def data_as_of(self) -> datetime | None:
        """The header's "data as of" (`HeaderCache.data_as_of`)."""
        return self._headers.data_as_of(self.store, self.clock())

    def header(self) -> header_mod.DataHeader:
        return self._headers.header(
            self.store,
            self.clock(),
            self.settings.stale_amber_seconds,
            self.settings.stale_red_seconds,
        )

    def render(
        self, request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        user = getattr(request.state, "user", None)
        nav = [
            (href, label)
            for href, label, perm in self.nav_links
            if user is not None and (perm is None or can(user.role, perm))
        ]
        ctx: dict[str, Any] = {
            "request": request,
            "user": user,
            "csrf_token": getattr(request.state, "csrf_token", None),
            "data": self.header(),
            "downtime": header_mod.downtime_status(self.store),
            "banners": self.banner_templates,
            "nav": nav,
            "now": self.now(),
            "tz": times.zone_label(self.zone, self.clock()),
            "path": request.url.path,
        }
        ctx.update(context)
        html = self.env.get_template(template).render(ctx)
        return HTMLResponse(html, status_code=status)
