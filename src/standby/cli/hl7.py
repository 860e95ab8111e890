"""`standby hl7 listen|send|replay` — HL7 v2 feeds over MLLP (docs/cli.md, docs/hl7.md).

Exit codes: 0 done; 1 a send gave up (the listener did not answer); 2 bad usage.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
from collections import Counter
from pathlib import Path

import typer

from standby.cli.replica import open_replica
from standby.hl7.feed_writer import FeedWriter
from standby.settings import Settings, load_settings
from standby.store import Store

hl7_app = typer.Typer(
    help="HL7 v2 feeds from the interface engine: listen over MLLP, send, replay an archive.",
    no_args_is_help=True,
)

_DB = typer.Option(
    None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
)
_URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)
_MRN = typer.Option(
    "https://standby.example.org/fhir/sid/mrn",
    "--mrn-system",
    help="The identifier system of medical record numbers (PID-3 of type MR); the EHR's, so "
    "that feed and FHIR sync name a patient alike.",
)


def _writer(settings: Settings, mrn_system: str) -> tuple[Store, FeedWriter]:
    from standby.cli.hl7_feed import feed_writer

    store = open_replica(settings)
    return store, feed_writer(settings, store, mrn_system)  # critical results noticed


@hl7_app.command("listen")
def listen(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(2575, "--port", help="TCP port (2575 is MLLP's registered port)."),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="PEM certificate: serve MLLP over TLS (default: plain MLLP)."
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", help="PEM private key of --tls-cert (default: none, plain MLLP)."
    ),
    client_ca: Path | None = typer.Option(
        None,
        "--client-ca",
        help="PEM CA bundle: senders must present a certificate it signed "
        "(default: no client certificates).",
    ),
    workers: int = typer.Option(
        0, "--workers", help="Processes that read and map messages (0: this process alone)."
    ),
    mrn_system: str = _MRN,
    db: Path | None = _DB,
    database_url: str | None = _URL,
) -> None:
    """Receive HL7 v2 messages over MLLP; ACK each once what it became is committed."""
    from standby.hl7.listener import Listener, server_tls

    if (tls_cert is None) != (tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    settings = load_settings(db=db, database_url=database_url)
    store, writer = _writer(settings, mrn_system)
    tls = server_tls(tls_cert, tls_key, client_ca) if tls_cert and tls_key else None

    async def main() -> None:
        listener = Listener(writer, workers=workers)
        server = await listener.start(host, port, tls=tls)
        bound = server.sockets[0].getsockname()
        typer.echo(f"listening on {'mllps' if tls else 'mllp'}://{bound[0]}:{bound[1]}", err=False)
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()
        await listener.stop()
        typer.echo(f"stopped: {dict(listener.counts)}")

    try:
        asyncio.run(main())
    finally:
        store.close()


@hl7_app.command("send")
def send(
    file: Path = typer.Argument(
        ..., help="A file of messages (one after another, or MLLP-framed)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="The listener's address."),
    port: int = typer.Option(2575, "--port", help="The listener's TCP port."),
    window: int = typer.Option(1, "--window", help="Messages sent before waiting for their ACKs."),
    timeout: float = typer.Option(
        30.0, "--timeout", help="Seconds to wait for an ACK before sending again."
    ),
    give_up_after: float = typer.Option(
        600.0, "--give-up-after", help="Seconds without any ACK after which the send fails."
    ),
    tls: bool = typer.Option(False, "--tls", help="Connect with TLS."),
    ca_file: Path | None = typer.Option(
        None,
        "--ca-file",
        help="PEM CA bundle that signed the listener's certificate (default: the system's).",
    ),
) -> None:
    """Send a file of messages to a listener as an interface engine does (unACKed ones again)."""
    from standby.hl7.mllp import split_archive
    from standby.hl7.sender import SendFailed
    from standby.hl7.sender import send as send_all

    messages = split_archive(file.read_bytes())
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None) if tls else None
    try:
        report = asyncio.run(
            send_all(
                messages,
                host,
                port,
                window=window,
                timeout=timeout,
                give_up_after=give_up_after,
                tls=ctx,
            )
        )
    except SendFailed as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    counts = Counter(code for code, _, _ in report.acks)
    typer.echo(
        f"{len(messages)} messages: {counts.get('AA', 0)} AA, {counts.get('AE', 0)} AE, "
        f"{counts.get('AR', 0)} AR; {report.sent} sent over {report.connections} connection(s)"
    )
    for code, cid, text in report.acks:
        if code != "AA":
            typer.echo(f"  {code} {cid}: {text}")


@hl7_app.command("replay")
def replay(
    file: Path = typer.Argument(
        ..., help="An engine's archive: messages one after another, or MLLP-framed."
    ),
    batch: int = typer.Option(500, "--batch", help="Messages committed per transaction."),
    mrn_system: str = _MRN,
    db: Path | None = _DB,
    database_url: str | None = _URL,
) -> None:
    """Load an archive of messages into the replica (already-received ones are skipped)."""
    from standby.hl7.mllp import split_archive

    settings = load_settings(db=db, database_url=database_url)
    messages = split_archive(file.read_bytes())
    store, writer = _writer(settings, mrn_system)
    counts: Counter[str] = Counter()
    try:
        for k in range(0, len(messages), batch):
            chunk = [(m, f"{file}#{k + i + 1}") for i, m in enumerate(messages[k : k + batch])]
            for outcome in writer.commit(chunk):
                counts["duplicate" if outcome.duplicate else outcome.ack_code] += 1
    finally:
        store.close()
    typer.echo(
        f"{len(messages)} messages: {counts['AA']} stored, {counts['duplicate']} already "
        f"received, {counts['AE'] + counts['AR']} set aside (standby status lists them)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(hl7_app, name="hl7")
