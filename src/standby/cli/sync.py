"""`standby sync` and `standby keys` — the sync from the command line (docs/cli.md, docs/sync.md).

Exit codes: 0 done; 1 a round or the seed failed (errors recorded, see `standby status`);
2 bad usage or settings; 3 the source refused our credentials (nothing was written).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from standby.cli.replica import open_replica
from standby.settings import Settings, load_settings

if TYPE_CHECKING:
    from standby.sync.runner import SyncRunner

_STD = set(vars(logging.makeLogRecord({})))


class JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STD and k not in out:
                out[k] = v if isinstance(v, str | int | float | bool | None) else str(v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out)


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("standby.sync")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def sync(
    source: str | None = typer.Option(
        None, "--source", help="FHIR base URL of the source EHR (default: STANDBY_SOURCE_URL)."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
    ),
    once: bool = typer.Option(False, "--once", help="Seed if needed, one round, then exit."),
    watch: bool = typer.Option(False, "--watch", help="Rounds every interval until stopped."),
    auth: str | None = typer.Option(
        None, "--auth", help="none | bearer | smart-backend (default: STANDBY_AUTH, else none)."
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="SMART client id (default: STANDBY_CLIENT_ID)."
    ),
    private_key: Path | None = typer.Option(
        None,
        "--private-key",
        help="PEM private key signing the client assertions (default: STANDBY_PRIVATE_KEY).",
    ),
    key_id: str | None = typer.Option(None, "--key-id", help="kid (default: the thumbprint)."),
    bearer_token: str | None = typer.Option(
        None,
        "--bearer-token",
        help="Static token for --auth bearer (default: STANDBY_BEARER_TOKEN).",
    ),
    seed_mode: str | None = typer.Option(
        None,
        "--seed-mode",
        help="auto | bulk | search | none (default: STANDBY_SYNC_SEED_MODE, else auto: "
        "chosen from the source's CapabilityStatement).",
    ),
    mode: str | None = typer.Option(
        None, "--mode", help="census | type (default: STANDBY_SYNC_MODE, else census)."
    ),
    interval: float | None = typer.Option(
        None,
        "--interval",
        help="Seconds between rounds with --watch (default: 5, or STANDBY_SYNC_INTERVAL_SECONDS).",
    ),
    rounds: int | None = typer.Option(
        None, "--rounds", help="With --watch: stop after N (default: never stop)."
    ),
    units: str | None = typer.Option(
        None,
        "--units",
        help="An edge node: copy only these units' patients, comma-separated aliases "
        "(3W,4E) (default: STANDBY_SYNC_UNITS, else the whole hospital).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every round (JSON lines)."),
    plan: bool = typer.Option(
        False,
        "--plan",
        help="Print the plan (seed method and why, types and how each is searched, what the "
        "source does not offer and what that costs) and exit; changes nothing.",
    ),
) -> None:
    """Seed the replica from the source EHR, then keep it fresh (--once or --watch)."""
    from standby.sync.auth import AuthError
    from standby.sync.http import SourceError
    from standby.sync.runner import SyncRunner

    setup_logging(verbose)
    try:
        settings = load_settings(
            source_url=source,
            db=db,
            database_url=database_url,
            auth=auth,
            client_id=client_id,
            private_key=private_key,
            key_id=key_id,
            bearer_token=bearer_token,
            sync_seed_mode=seed_mode,
            sync_mode=mode,
            sync_interval_seconds=interval,
            sync_units=[u.strip() for u in units.split(",") if u.strip()] if units else None,
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    if not settings.source_url:
        typer.echo("error: no source: pass --source URL or set STANDBY_SOURCE_URL", err=True)
        raise typer.Exit(2)
    if plan:
        _print_plan(settings)
        return
    try:
        store = open_replica(settings)
    except typer.Exit:  # a missing or wrong key: open_replica said why
        raise
    except Exception as e:
        typer.echo(f"error: cannot open the replica: {e}", err=True)
        raise typer.Exit(2) from e
    runner = None
    try:
        runner = SyncRunner(settings, store)
        _check_auth(runner, keep_trying=watch)
        typer.echo(f"plan: seed by {runner.prepare().summary()}", err=True)
        seeded = runner.seed()
        if seeded is not None:
            typer.echo(f"seed: {_describe(seeded)}", err=True)
        if watch:
            from standby.cli.retention import RetentionPass

            pruning = RetentionPass(store, settings).start()  # the replica's writer prunes
            try:
                runner.watch(rounds=rounds)
            finally:
                pruning.stop()
            return
        result = runner.run_round()
        typer.echo(
            f"round: {'ok' if result.ok else 'FAILED'}; {result.requests} requests, "
            f"{result.failed} failed, census {result.census}, {result.stats.written} written, "
            f"{result.stats.quarantined} quarantined",
            err=True,
        )
        if not result.ok:
            raise typer.Exit(1)
    except AuthError as e:
        if e.unreachable:  # the source is down or cut off: it did not refuse us
            typer.echo(f"error: the source does not answer: {e}; nothing was copied", err=True)
        else:
            typer.echo(f"error: authentication to the source failed: {e}", err=True)
        raise typer.Exit(3) from e
    except SourceError as e:
        typer.echo(f"error: {e}", err=True)
        if "$export" in str(e):
            typer.echo(
                "hint: if the source offers no Bulk Data $export, run with --seed-mode auto "
                "(the default) or --seed-mode search; see `standby sync --plan`",
                err=True,
            )
        raise typer.Exit(1) from e
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        if runner is not None:
            runner.close()
        store.close()


def _check_auth(runner: SyncRunner, *, keep_trying: bool) -> None:
    """The first token request. With --watch a source that does not answer is tried again
    every interval (an edge node started while its central node is down, or the EHR is, must
    catch up once it is back: `standby.sync.incremental` rounds do the same); a refusal, or
    --once, ends here (exit 3). Each try is recorded in status, so the pages say the source
    does not answer."""
    from standby.sync.auth import AuthError

    while True:
        try:
            runner.check_auth()
            return
        except AuthError as e:
            if not (keep_trying and e.unreachable):
                raise
            wait = runner.settings.sync_interval_seconds
            typer.echo(f"the source does not answer: {e}; trying again in {wait:g} s", err=True)
            time.sleep(wait)


def _print_plan(settings: Settings) -> None:
    """`--plan`: read the source's capabilities (two GETs) and print the plan; no replica
    is opened, nothing is written."""
    from standby.sync.auth import AuthError
    from standby.sync.capabilities import discover
    from standby.sync.http import SourceError
    from standby.sync.runner import make_client, settings_auth, sync_plan

    try:
        auth = settings_auth(settings)
        with make_client(settings, auth) as client:
            caps = discover(client)
        made = sync_plan(settings, caps)
    except AuthError as e:
        typer.echo(f"error: authentication to the source failed: {e}", err=True)
        raise typer.Exit(3) from e
    except (SourceError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(f"source: {settings.source_url}")
    for line in made.lines():
        typer.echo(line)


def _describe(seeded: object) -> str:
    lines = getattr(seeded, "lines", None)
    if lines is not None:
        stats = seeded.stats  # type: ignore[attr-defined]
        return (
            f"{seeded.files} files, {lines} lines, {stats.written} written, "  # type: ignore[attr-defined]
            f"{stats.quarantined} quarantined, {seeded.deleted} deleted"  # type: ignore[attr-defined]
        )
    return f"{getattr(seeded, 'requests', 0)} searches, ok={getattr(seeded, 'ok', None)}"


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
