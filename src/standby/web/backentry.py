"""Back-entry started from the reconciliation page: the same run as `standby recover run`
(`recovery.execute.run`, the registrar's decisions frozen first), in a thread of the web
server, one at a time per server (leases already keep two runners — this one and a
command, or two servers — from sending the same patient at once).

Only once the incident commander has ended the downtime (`recovery.start.why_not`); the
page shows whether it is running, since when and by whom, and how the last run ended.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from starlette.datastructures import State

from standby.monitor.status import current_status
from standby.recovery import execute, start
from standby.settings import Settings
from standby.store.base import Store
from standby.sync.http import FhirClient, RetryPolicy
from standby.sync.runner import settings_auth

log = logging.getLogger("standby.web.backentry")

ROLES = ("incident-commander", "health-information")  # who may start it from the page


@dataclass(frozen=True)
class Run:
    """One run started from the page, as the page shows it."""

    by: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = ""  # in words, once finished
    ok: bool = False  # finished with nothing left to send again


class Runner:
    """At most one back-entry run at a time in this server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last: Run | None = None

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def refusal(self, store: Store, settings: Settings) -> str | None:
        """Why a run may not start now (None: it may)."""
        if self.running:
            return "back-entry is already running (started from this page)"
        if not settings.source_url:
            return "no EHR is configured (STANDBY_SOURCE_URL): back-entry has nowhere to file"
        st = current_status(store)
        if start.why_not(st.state, st.ended_at, drill=False) is None:
            return None
        if st.state in ("downtime", "recovering"):  # the page's words for start.why_not
            return (
                "the downtime is not over: back-entry starts once the incident commander has "
                "ended it (Downtime → the incident → Confirm end of downtime)"
            )
        return "no downtime has been ended on this server: there is nothing to file yet"

    def start(self, store: Store, settings: Settings, by: str, now: datetime) -> str | None:
        """Start a run in the background; why not, if it may not start."""
        with self._lock:
            why = self.refusal(store, settings)
            if why:
                return why
            try:
                client = _client(settings)
            except ValueError as e:  # the EHR's credentials are not set up
                return f"cannot reach the EHR: {e}"
            self.last = Run(by, now)
            self._thread = threading.Thread(
                target=self._run, args=(store, settings, client), name="back-entry", daemon=True
            )
            self._thread.start()
            return None

    def wait(self, timeout: float | None = None) -> None:
        t = self._thread
        if t is not None:
            t.join(timeout)

    def _run(self, store: Store, settings: Settings, client: FhirClient) -> None:
        from standby import clock

        try:
            with client:
                result = execute.run(
                    store,
                    client,
                    decisions_of=start.decisions_frozen,
                    node=settings.node_name or socket.gethostname(),
                    lease=timedelta(seconds=settings.recovery_lease_seconds),
                    entries_per_transaction=settings.recovery_entries_per_transaction,
                )
            outcome = (
                f"{result.confirmed} confirmed, {result.conflict} conflict, "
                f"{result.rejected} rejected, {result.held} held (waiting for the registrar), "
                f"{result.unconfirmed} not read back yet; {result.patients} patients"
            )
            if result.busy_elsewhere:
                outcome += f"; {result.busy_elsewhere} patients were being filed by another runner"
            if result.stopped:
                outcome = f"stopped: {result.stopped} — {outcome}. Start it again to go on."
            ok = not (result.stopped or result.unconfirmed or result.busy_elsewhere)
        except Exception as e:  # the page must say it ended, whatever happened
            log.exception("back-entry from the page failed")
            outcome, ok = f"failed: {type(e).__name__}: {e}. Start it again to go on.", False
        assert self.last is not None
        self.last = replace(self.last, finished_at=clock.now(), outcome=outcome, ok=ok)


def _client(settings: Settings) -> FhirClient:
    return FhirClient(
        settings.source_url or "",
        auth=settings_auth(settings),
        concurrency=settings.recovery_concurrency,
        rate=settings.recovery_rate,
        timeout=settings.sync_timeout_seconds,
        policy=RetryPolicy(max_attempts=settings.sync_max_attempts),
    )


_CREATE = threading.Lock()


def runner_of(app_state: State) -> Runner:
    """The server's runner, kept on the ASGI app's state."""
    with _CREATE:
        r = getattr(app_state, "backentry_runner", None)
        if r is None:
            r = Runner()
            app_state.backentry_runner = r
        assert isinstance(r, Runner)
        return r
