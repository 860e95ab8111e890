"""`standby sim serve` — the simulated EHR (docs/cli.md#standby-sim-serve,
docs/simulated-ehr.md)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from standby.settings import load_settings
from standby.settings import zone as hospital_zone


def add_commands(sim_app: typer.Typer) -> None:
    sim_app.command("serve")(serve)


def serve(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Directory of <ResourceType>.ndjson files (loaded into DIR/ehr.db once).",
    ),
    port: int = typer.Option(8090, "--port", help="Public FHIR port (faults apply here)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    admin_port: int = typer.Option(
        0, "--admin-port", help="Admin port (uvicorn itself; reachable during an outage); 0: any."
    ),
    change_rate: float = typer.Option(
        0.0, "--change-rate", help="Live changes written per second (0: none)."
    ),
    auth: bool = typer.Option(
        False, "--auth/--no-auth", help="Require SMART Backend Services bearer tokens."
    ),
    clients: Path | None = typer.Option(
        None,
        "--clients",
        help='JSON file {client_id: {"jwks": {...}, "scope": "..."}} (default: none).',
    ),
    token_lifetime: int = typer.Option(
        300, "--token-lifetime", help="Access token expires_in (s)."
    ),
    error_rate: float = typer.Option(
        0.0, "--error-rate", help="Fraction of requests answered 503/429 or reset (0 to 1)."
    ),
    latency_ms: int = typer.Option(0, "--latency-ms", help="Latency added to every request."),
    seed: int = typer.Option(1, "--seed", help="Seed for faults and the change feed."),
    strict: str = typer.Option(
        "",
        "--strict",
        help="Offer less, as real servers do: comma-separated no-bare-ids, no-export, "
        "no-type-search, no-history, no-transaction, or all (default: none; "
        "docs/simulated-ehr.md).",
    ),
    hl7_to: str = typer.Option(
        "",
        "--hl7-to",
        help="Interface-engine mode: also send the change feed as HL7 v2 over MLLP to "
        "HOST:PORT (lab results go on during an outage; docs/simulated-ehr.md).",
    ),
) -> None:
    """Serve the generated hospital as a FHIR R4 server (REST, $export, SMART, faults).

    SIGUSR1 starts a full outage, SIGUSR2 ends it."""
    from standby.sim.server.ehr_store import limit_sqlite_memory
    from standby.sim.server.faults import Faults
    from standby.sim.server.runner import load_store, prepare
    from standby.sim.server.runner import serve as serve_async
    from standby.sim.server.smart_auth import SmartAuthConfig
    from standby.sim.server.strict import Strictness

    console = Console(stderr=True)
    if not data.is_dir():
        raise typer.BadParameter(f"--data: no such directory: {data}")
    try:
        strictness = Strictness.parse(strict)
    except ValueError as e:
        raise typer.BadParameter(f"--strict: {e}") from e
    engine_host, _, engine_port = hl7_to.rpartition(":")
    if hl7_to and (not engine_host or not engine_port.isdigit()):
        raise typer.BadParameter(f"--hl7-to: expected HOST:PORT, got {hl7_to!r}")
    if hl7_to and change_rate <= 0:
        raise typer.BadParameter("--hl7-to sends the change feed: it needs --change-rate above 0")
    cfg = None
    if auth:
        cfg = (
            SmartAuthConfig.from_file(clients, expires_in=token_lifetime)
            if clients
            else SmartAuthConfig(expires_in=token_lifetime)
        )
    faults = Faults(error_rate=error_rate, latency_ms=latency_ms, seed=seed)
    with Progress(
        TextColumn(f"loading {data}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("load", total=None)
        store = load_store(data, lambda done, total: bar.update(task, completed=done, total=total))
    limit_sqlite_memory(store)  # this process is the server's alone
    handle, admin_sock, front_sock = prepare(
        store,
        host=host,
        port=port,
        admin_port=admin_port,
        auth=cfg,
        faults=faults,
        change_rate=change_rate,
        seed=seed,
        zone=hospital_zone(load_settings()),  # doses given at the hospital's clock times
        strict=strictness,
    )
    counts = handle.store.counts_by_type()
    console.print(f"{sum(counts.values()):,} resources of {len(counts)} types")
    console.print(f"FHIR base: {handle.base_url}   admin: {handle.admin_url}/_admin/faults")
    if strictness.names():
        console.print(f"strict: {', '.join(strictness.names())}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: faults.set(outage=True))
        loop.add_signal_handler(signal.SIGUSR2, lambda: faults.set(outage=False))
        if handle.feed is not None:
            handle.feed.start()
        if hl7_to:
            from standby.sim.engine import attach_engine

            attach_engine(handle, engine_host, int(engine_port))
            console.print(f"interface engine: sending HL7 v2 to mllp://{hl7_to}")
        await serve_async(handle, admin_sock, front_sock)

    try:
        asyncio.run(main())
    finally:
        for part in handle._extra:  # the interface engine
            part.stop()
        if handle.feed is not None:
            handle.feed.stop()
        handle.app.state.exports.close()
        handle.store.close()
