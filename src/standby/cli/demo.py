"""`standby demo` — the whole of Standby on one machine, on a synthetic hospital.

Generates a hospital, starts the simulated EHR (SMART Backend Services auth on, a live
change feed), seeds the replica by Bulk Data export, keeps it fresh with census-driven
sync, regenerates the downtime packets, runs the outage monitor and serves the viewer:
each part a `standby` command in its own process, supervised (demo_processes.py), so the
viewer never waits behind the simulator and a part that dies is named and restarted.
`standby demo outage on|off` cuts and restores the simulated EHR of a running demo.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import typer
from rich.console import Console

from standby.private_files import private_dir, write_private_bytes

DEFAULT_DIR = Path("demo-data")
CLIENT_ID = "standby-demo"
DEMO_MRN_RANGE = "DTDEMO-0001..DTDEMO-9999"  # downtime numbers the demo's registrar hands out
DEMO_ENCOUNTER_RANGE = "DEDEMO-0001..DEDEMO-9999"

demo_app = typer.Typer(
    help="Run everything on one machine against a synthetic hospital.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _generate(console: Console, ehr_dir: Path, beds: int, seed: int, hospital_zone: tzinfo) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from standby.sim.generate import generate_hospital

    if any(ehr_dir.glob("*.ndjson")):
        console.print(f"Using the synthetic hospital already in {ehr_dir}/")
        return
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(f"Generating a {beds}-bed synthetic hospital", total=None)
        counts = generate_hospital(beds, seed, ehr_dir, now=now, zone=hospital_zone)
        bar.update(task, completed=1, total=1)
    console.print(f"Generated {sum(counts.values()):,} FHIR resources into {ehr_dir}/")


def _demo_key_file(directory: Path) -> Path | None:
    """The demo's replica key: created beside its data when none is configured (a real
    node keeps it apart, docs/security.md), and named in the environment so that every
    command the demo runs (status, packets) opens the replica with it."""
    from standby.cli.replica import replica_key
    from standby.settings import load_settings
    from standby.store.encryption import is_encrypted, rekey

    configured = load_settings()
    if configured.db_encryption == "off" or configured.db_key or configured.db_key_file:
        return None
    key_file = directory / "standby.key"
    key = replica_key(configured, default_key_file=key_file)
    db = directory / "standby.db"
    if key is not None and is_encrypted(db) is False:  # a demo made before encryption
        rekey(db, None, key)
    os.environ["STANDBY_DB_KEY_FILE"] = str(key_file)
    return key_file


def _client_key(demo_dir: Path) -> tuple[Path, dict[str, object]]:
    from standby.sync.jwks import generate_private_key, jwks, load_private_key, write_private_key

    pem = demo_dir / "standby-client.pem"
    if not pem.exists():
        write_private_key(generate_private_key("ES384"), pem)
    return pem, jwks(load_private_key(pem))


@demo_app.callback()
def demo(
    ctx: typer.Context,
    beds: int = typer.Option(200, "--beds", help="Beds in the synthetic hospital."),
    seed: int = typer.Option(42, "--seed", help="Seed of the synthetic hospital."),
    directory: Path = typer.Option(
        DEFAULT_DIR, "--dir", help="Folder for the hospital, the replica and the packets."
    ),
    port: int = typer.Option(8080, "--port", help="Port of the clinician viewer."),
    ehr_port: int = typer.Option(8090, "--ehr-port", help="Port of the simulated EHR (0: any)."),
    change_rate: float = typer.Option(
        5.0, "--change-rate", help="Changes per second made by the simulated EHR."
    ),
    setup_only: bool = typer.Option(
        False, "--setup-only", help="Stop after seeding the replica (for tests and CI)."
    ),
    hl7_port: int = typer.Option(
        2575,
        "--hl7-port",
        help="Port of the HL7 v2 (MLLP) listener the simulated EHR sends to (0: any).",
    ),
) -> None:
    """Generate a hospital, start the simulated EHR, sync, and serve the viewer.

    Each part runs in its own process (logs in DIR/logs/); Ctrl-C stops them all."""
    if ctx.invoked_subcommand is not None:
        return
    from standby.cli.demo_processes import Supervisor, standby_argv
    from standby.settings import load_settings, zone

    console = Console()
    private_dir(directory)
    ehr_dir = private_dir(directory / "ehr")
    hospital_zone = zone(load_settings())
    key_file = _demo_key_file(directory)
    _generate(console, ehr_dir, beds, seed, hospital_zone)

    pem, public_jwks = _client_key(directory)
    clients = directory / "ehr-clients.json"
    write_private_bytes(clients, json.dumps({CLIENT_ID: {"jwks": public_jwks}}).encode())
    ehr_port = ehr_port or free_port()
    hl7_port = hl7_port or free_port()
    # the interface engine sends the change feed: with no changes there is nothing to send
    engine = ["--hl7-to", f"127.0.0.1:{hl7_port}"] if change_rate > 0 else []
    admin_port = free_port()
    base_url, admin_url = f"http://127.0.0.1:{ehr_port}", f"http://127.0.0.1:{admin_port}"
    configured = load_settings()  # the demo's downtime numbers, unless set otherwise
    overrides: dict[str, object] = {
        "journal_mrn_range": None if configured.journal_mrn_range else DEMO_MRN_RANGE,
        "journal_encounter_range": None
        if configured.journal_encounter_range
        else DEMO_ENCOUNTER_RANGE,
        "db": directory / "standby.db",
        "source_url": base_url,
        "auth": "smart-backend",
        "client_id": CLIENT_ID,
        "private_key": pem,
        "port": port,
        "reports_out_dir": directory / "packets",
        "db_key_file": key_file,
    }
    settings = load_settings(**overrides)
    env = dict(os.environ) | {
        f"STANDBY_{k.upper()}": str(v) for k, v in overrides.items() if v is not None
    }
    # glibc gives each thread that allocates its own arena, and keeps what it freed there:
    # two are enough for these processes and keep their memory from creeping up
    env.setdefault("MALLOC_ARENA_MAX", "2")
    parts = Supervisor(env, directory / "logs", lambda text: console.print(text, highlight=False))
    stopping = _stop_on_signals()
    try:
        with console.status("Loading the hospital into the simulated EHR ..."):
            ehr_argv = standby_argv(
                "sim", "serve", "--data", str(ehr_dir), "--port", str(ehr_port),
                "--admin-port", str(admin_port), "--change-rate", str(change_rate),
                "--auth", "--clients", str(clients), "--seed", str(seed), *engine,
            )  # fmt: skip
            ehr = parts.start("simulated EHR", ehr_argv, "ehr")
            _wait_for(f"{admin_url}/metadata", ehr)
        console.print(f"Simulated EHR (SMART Backend Services auth on): {base_url}")
        write_private_bytes(
            directory / "demo.json",
            json.dumps(
                {"ehr": base_url, "ehr_admin": admin_url, "supervisor": os.getpid()}, indent=2
            ).encode(),
        )
        with console.status("Seeding the replica by Bulk Data export ..."):
            started = time.monotonic()
            _seed(parts, standby_argv("sync", "--once"))
        logins, unit = _replica_ready(console, settings, time.monotonic() - started)
        if setup_only:
            parts.stop_all()
            (directory / "demo.json").unlink(missing_ok=True)  # nothing keeps running
            _status(settings)
            return
        parts.start("sync", standby_argv("sync", "--watch"), "sync")
        # the simulated EHR's interface engine holds its messages until this listens
        hl7_argv = standby_argv("hl7", "listen", "--port", str(hl7_port))
        parts.start("HL7 v2 listener", hl7_argv, "hl7")
        console.print(
            f"HL7 v2 feed: listening on mllp://127.0.0.1:{hl7_port}"
            + (", where the simulated EHR's interface engine sends" if engine else ""),
            highlight=False,
        )
        parts.start("monitor", standby_argv("monitor", "run"), "monitor")
        parts.start("packets", standby_argv("report", "--watch"), "packets")
        viewer = parts.start("viewer", standby_argv("serve", "--no-monitor"), "viewer")
        _wait_for(f"http://127.0.0.1:{settings.port}/status", viewer)
        _welcome(console, settings.port, base_url, logins, unit, directory)
        parts.run(until=stopping.is_set)
    except KeyboardInterrupt:
        pass
    except _PartFailed as e:
        parts.failed = str(e)
        console.print(f"The demo cannot start: {e}", highlight=False)
    finally:
        if not setup_only:
            console.print("Stopping the demo's processes ...")
        parts.stop_all()
        (directory / "demo.json").unlink(missing_ok=True)  # no demo runs here any more
    if parts.failed:
        raise typer.Exit(1)


class _PartFailed(Exception):
    pass


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_on_signals() -> threading.Event:
    """Ctrl-C (SIGINT) and SIGTERM stop the demo and all its parts, none left behind. Set
    explicitly: a demo started in the background inherits SIGINT ignored, and its parts
    would inherit that too and ignore the supervisor's polite stop."""
    import signal

    stopping = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if stopping.is_set():  # already stopping: let the parts' escalation run its course
            return
        stopping.set()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
    return stopping


def _wait_for(url: str, part: object, timeout_s: float = 900.0) -> None:
    """Until `url` answers 200; a part that exits meanwhile fails the start with its log."""
    import httpx

    from standby.cli.demo_processes import Part, describe_exit

    assert isinstance(part, Part)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not part.alive():
            code = part.proc.returncode if part.proc else None
            raise _PartFailed(
                f"the {part.name} stopped ({describe_exit(code or 0)}); {part.log} ends:\n"
                f"{part.tail()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise _PartFailed(f"the {part.name} did not answer at {url} within {timeout_s:g} s")


def _seed(parts: object, argv: list[str]) -> None:
    """`standby sync --once` in its own process: seed by Bulk Data export, then one round.
    A first round that does not verify (the EHR changes live while it is read) is not an
    error here: `sync --watch` runs the next round a few seconds later."""
    from standby.cli.demo_processes import Part, Supervisor, describe_exit, stop_process

    assert isinstance(parts, Supervisor)
    seeding = Part("seed", argv, parts.log_dir / "seed.log")
    parts._spawn(seeding)
    assert seeding.proc is not None
    try:
        code = seeding.proc.wait()
    finally:
        stop_process(seeding.proc)
    if code == 0 or (code == 1 and "round: FAILED" in seeding.tail(3)):
        return
    raise _PartFailed(
        f"seeding stopped ({describe_exit(code)}); {seeding.log} ends:\n{seeding.tail()}"
    )


def _replica_ready(
    console: Console, settings: object, seconds: float
) -> tuple[list[tuple[str, str, str]], str]:
    """Print the replica's size; add the demo's users; (logins, the nurses' unit name)."""
    from standby.accounts.users import add_demo_users
    from standby.cli.replica import open_replica
    from standby.clinical import units
    from standby.settings import Settings

    assert isinstance(settings, Settings)
    store = open_replica(settings)
    try:
        counts = store.counts_by_type()
        console.print(
            f"Replica {settings.db}: {sum(counts.values()):,} resources ({seconds:.0f} s)"
        )
        wards = [u for u in units(store) if u.beds]
        first = next((u for u in wards if u.kind == "HU"), wards[0] if wards else None)
        return add_demo_users(store, first.id if first else ""), first.name if first else ""
    finally:
        store.close()


def _status(settings: object) -> None:
    from standby.cli.status import status
    from standby.settings import Settings

    assert isinstance(settings, Settings)
    status(db=settings.db, database_url=settings.database_url, as_json=False)


def standby_command() -> str:
    """How to type the `standby` command in another terminal: `standby` when that name on
    the PATH is this installation, else its path (`.venv/bin/standby`)."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("standby")
    if found and (here is None or Path(found).resolve() == here):
        return "standby"
    mine = Path(sys.executable).parent / "standby"
    try:
        near = os.path.relpath(mine)
    except ValueError:  # another drive (Windows)
        return str(mine)
    return near if not near.startswith("..") else str(mine)


def _dir_option(directory: Path) -> str:
    return "" if directory == DEFAULT_DIR else f" --dir {directory}"


def recover_command(cmd: str, ehr: str, directory: Path) -> str:
    """`standby recover run` against the demo's simulated EHR with the demo's credentials
    (the demo keeps them in its own settings, not in the environment)."""
    return (
        f"STANDBY_SOURCE_URL={ehr} STANDBY_AUTH=smart-backend STANDBY_CLIENT_ID={CLIENT_ID} "
        f"STANDBY_PRIVATE_KEY={directory / 'standby-client.pem'} "
        f"{cmd} recover run --db {directory / 'standby.db'}"
    )


def _welcome(
    console: Console,
    port: int,
    ehr: str,
    logins: list[tuple[str, str, str]],
    unit: str,
    directory: Path = DEFAULT_DIR,
) -> None:
    cmd = standby_command()
    d = _dir_option(directory)
    console.rule("Standby demo is running")
    console.print(f"Open [bold]http://127.0.0.1:{port}/[/] (status without login: /status)")
    console.print(f"Simulated EHR: {ehr} (changing live); the replica syncs every few seconds.")
    console.print("Logins (password for all: [bold]standby-demo[/]):")
    for username, _password, role in logins:
        note = f" — works on unit {unit}" if username in ("nurse", "physician", "clerk") else ""
        console.print(f"  {username:<10} {role}{note}")
    console.print("Try:")
    console.print("  • nurse: open the unit census, a patient, the allergies and the MAR")
    console.print("  • physician: search 'jose' or 'smith'; tell the two John Smiths apart")
    console.print(f"  • cut the EHR:   {cmd} demo outage on{d}    (in another terminal)")
    console.print("    watch the header and banner turn to downtime within a minute;")
    console.print("    then, as nurse, open a patient → Document: vital signs, a dose, a note")
    console.print("    or move them: Document → Transfer; as registrar: Register a patient")
    console.print("    and, as clerk, Transcribe: key a patient's paper vitals flowsheet or MAR")
    console.print(f"    then: {cmd} demo outage off{d}, and confirm the end as 'commander'")
    console.print("  • back-entry, once the commander has ended the downtime:")
    console.print("    as registrar: Registrations — decide who each registered patient is;")
    console.print("    as him: Review queue → Reconciliation report → 'File the downtime's")
    console.print("    documentation into the EHR now'; the report then says what is in the EHR.")
    key = os.environ.get("STANDBY_DB_KEY_FILE")
    env = f"STANDBY_DB_KEY_FILE={key} " if key else ""
    console.print("    Or in a terminal (the demo's EHR and credentials):")
    console.print(
        f"    {env}{recover_command(cmd, ehr, directory)}", soft_wrap=True, highlight=False
    )
    console.print(f"  • the replica's state: {env}{cmd} status --db {directory / 'standby.db'}")
    if key:
        console.print(f"    (the replica is encrypted; its key is {key})")
    console.print(f"  • packets are regenerated into {directory / 'packets'}/ every 15 minutes")
    console.print("Stop with Ctrl-C.")


@demo_app.command("outage")
def outage(
    state: str = typer.Argument(..., help="on (cut the simulated EHR) or off (restore it)."),
    directory: Path = typer.Option(DEFAULT_DIR, "--dir", help="Folder of the running demo."),
) -> None:
    """Cut or restore the simulated EHR of a running demo (its fault switch)."""
    import httpx

    if state not in ("on", "off"):
        raise typer.BadParameter("say on or off")
    info = directory / "demo.json"
    start = f"start `{standby_command()} demo{_dir_option(directory)}` first"
    if not info.exists():
        typer.echo(f"no demo is running from {directory}/: {start}", err=True)
        raise typer.Exit(1)
    try:
        admin = json.loads(info.read_text())["ehr_admin"]
        r = httpx.post(f"{admin}/_admin/faults", json={"outage": state == "on"}, timeout=5)
        r.raise_for_status()
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        typer.echo(
            f"no demo is running from {directory}/ (its simulated EHR does not answer): {start}",
            err=True,
        )
        raise typer.Exit(1) from None
    if state == "on":
        typer.echo(
            "The simulated EHR has stopped answering. The monitor declares downtime within a "
            "minute; the banner and the header say so on every page."
        )
    else:
        typer.echo(
            "The simulated EHR answers again. After a few healthy probe rounds the monitor "
            "proposes recovery; log in as 'commander' to confirm the end of downtime."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
