"""`standby serve` — the clinician viewer over HTTP (uvicorn), and the outage monitor in a
thread when a source EHR is configured (docs/cli.md#standby-serve, docs/web.md)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from standby.settings import Settings, load_settings


def app_factory() -> object:
    """The ASGI app built from settings in the environment (for uvicorn `--workers`)."""
    from standby.cli.replica import open_replica
    from standby.web.app import create_app

    settings = load_settings()
    return create_app(settings, open_replica(settings))


def _export(settings: Settings) -> None:
    """Worker processes read settings from the environment: pass the overrides on."""
    os.environ["STANDBY_DB"] = str(settings.db)
    if settings.database_url:
        os.environ["STANDBY_DATABASE_URL"] = settings.database_url
    if settings.tls_cert and settings.tls_key:
        os.environ["STANDBY_TLS_CERT"] = str(settings.tls_cert)
        os.environ["STANDBY_TLS_KEY"] = str(settings.tls_key)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        db: Path | None = typer.Option(
            None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
        ),
        database_url: str | None = typer.Option(
            None,
            "--database-url",
            help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
        ),
        host: str | None = typer.Option(
            None, "--host", help="Address to listen on (default: STANDBY_HOST, else 127.0.0.1)."
        ),
        port: int | None = typer.Option(
            None, "--port", help="Port to listen on (default: STANDBY_PORT, else 8080)."
        ),
        workers: int | None = typer.Option(
            None,
            "--workers",
            help="Worker processes, one per core (default: STANDBY_WEB_WORKERS).",
        ),
        tls_cert: Path | None = typer.Option(
            None,
            "--tls-cert",
            help="PEM certificate (chain): serve HTTPS, with HSTS (default: STANDBY_TLS_CERT).",
        ),
        tls_key: Path | None = typer.Option(
            None, "--tls-key", help="PEM private key of --tls-cert (default: STANDBY_TLS_KEY)."
        ),
        monitor: bool = typer.Option(
            True,
            "--monitor/--no-monitor",
            help="Run the outage monitor in a thread (when a source EHR is configured).",
        ),
    ) -> None:
        """Serve the clinician viewer (census, patient summaries, schedules, admin)."""
        import uvicorn

        settings = load_settings(
            db=db,
            database_url=database_url,
            host=host,
            port=port,
            web_workers=workers,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        if bool(settings.tls_cert) != bool(settings.tls_key):
            typer.echo("error: --tls-cert and --tls-key go together", err=True)
            raise typer.Exit(2)
        for f in (settings.tls_cert, settings.tls_key):
            if f is not None and not Path(f).is_file():
                typer.echo(f"error: {f}: no such file", err=True)
                raise typer.Exit(2)
        from standby.cli.replica import open_replica

        store = open_replica(settings)  # a missing key stops here, before any worker starts
        from standby.api.smart import audience_warning

        if warning := audience_warning(store, settings.fhir_base_url):
            logging.getLogger("standby.serve").warning(warning)
            typer.echo(f"WARNING: {warning}", err=True)
        _export(settings)
        runner = None
        if monitor and settings.source_url:
            from standby.cli.monitor import start_monitor

            runner = start_monitor(settings, open_replica(settings))
        from standby.cli.retention import RetentionPass

        pruning = RetentionPass(open_replica(settings), settings).start()
        scheme = "https" if settings.tls_cert else "http"
        typer.echo(
            f"Standby viewer on {scheme}://{settings.host}:{settings.port}/ (status page: /status;"
            f" read-only FHIR API: {scheme}://{settings.host}:{settings.port}/fhir)"
        )
        try:
            if settings.web_workers > 1:
                from standby.web.server import run_workers

                run_workers(settings.host, settings.port, settings.web_workers)
            else:
                from standby.web.app import create_app
                from standby.web.server import uvicorn_config

                uvicorn.Server(uvicorn_config(settings, create_app(settings, store))).run()
        finally:
            if runner is not None:
                runner.stop()
            pruning.stop()
            pruning.store.close()
            store.close()
