"""One typed settings object for the whole of Standby.

Read once from environment variables (``STANDBY_<NAME>``) and an optional TOML file
(``standby.toml`` in the working directory, or the file named by ``STANDBY_CONFIG``).
Environment variables win over the file. Every field carries a ``description``: the
docs (docs/settings.md) list every one, and a test checks that they do.

Sections of later issues add their fields here, each with help text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The hospital's standard administration times (doses a day → clock times) when the
# setting `mar_standard_times` does not name them.
_DEFAULT_TIMES: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((9, 0),),
    2: ((9, 0), (21, 0)),
    3: ((9, 0), (13, 0), (17, 0)),
    4: ((9, 0), (13, 0), (17, 0), (21, 0)),
}
STANDARD_TIMES_NAMES = {"DAILY": 1, "BID": 2, "TID": 3, "QID": 4}
STANDARD_TIMES_DEFAULT = (
    "daily=09:00; BID=09:00,21:00; TID=09:00,13:00,17:00; QID=09:00,13:00,17:00,21:00"
)


def _toml_path() -> Path:
    return Path(os.environ.get("STANDBY_CONFIG", "standby.toml"))


class Settings(BaseSettings):
    """Everything an installation can set. See docs/settings.md."""

    model_config = SettingsConfigDict(env_prefix="STANDBY_", extra="forbid")

    # --- store -------------------------------------------------------------------------
    db: Path = Field(
        Path("standby.db"),
        description="Path of the SQLite replica file (the embedded default engine).",
    )
    database_url: str | None = Field(
        None,
        description=(
            "PostgreSQL URL (postgresql://user@host:port/db). When set, the replica lives in "
            "PostgreSQL instead of the SQLite file named by `db`."
        ),
    )
    db_encryption: Literal["on", "off"] = Field(
        "on",
        description="`on`: the SQLite replica is encrypted at rest (SQLCipher) with the key "
        "from `db_key_file` or `db_key`; `off`: plain SQLite, for tests and development "
        "(docs/security.md).",
    )
    db_key_file: Path | None = Field(
        None,
        description="File holding the replica's key (64 hex characters, mode 0600), kept "
        "apart from the replica; `standby keys create PATH` makes one.",
    )
    db_key: SecretStr | None = Field(
        None,
        description="The replica's key itself (64 hex characters), for a secret store that "
        "sets environment variables; `db_key_file` is preferred.",
    )
    secret_key_file: Path | None = Field(
        None,
        description="File holding the key that signs the viewer's cookies (mode 0600); "
        "default: `<db>.secret` beside the replica, created on first use. Never stored in "
        "the database.",
    )
    ingest_batch_size: int = Field(
        2000, description="Resources written per transaction by the bulk ingest path."
    )
    sqlite_memory_mb: int = Field(
        64,
        description="Memory SQLite may keep in page caches in each process that opens a "
        "SQLite replica, all its connections together (a soft limit; 0: no limit).",
    )
    max_resource_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest single resource accepted; larger NDJSON lines are quarantined.",
    )

    # --- source EHR (sync) -------------------------------------------------------------
    source_url: str | None = Field(
        None, description="Base URL of the source EHR's FHIR R4 endpoint."
    )
    source_name: str = Field("ehr", description="Name of the source, shown in status and logs.")
    auth: str = Field(
        "none",
        description="How to authenticate to the source: `none`, `bearer` or `smart-backend`.",
    )
    bearer_token: str | None = Field(
        None, description="Static bearer token, used when `auth` is `bearer`."
    )
    client_id: str | None = Field(
        None, description="SMART Backend Services client id registered with the EHR."
    )
    private_key: Path | None = Field(
        None,
        description="PEM file of the private key (RSA for RS384, EC P-384 for ES384) that signs "
        "client assertions.",
    )
    key_id: str | None = Field(None, description="`kid` of the signing key, as in the JWKS.")
    scope: str = Field(
        "system/*.read", description="Scopes requested from the SMART token endpoint."
    )

    # --- the hospital ------------------------------------------------------------------
    timezone: str = Field(
        "UTC",
        description="The hospital's time zone (IANA name, e.g. America/New_York): every time "
        "is shown in it, and dose times such as 09:00 or BID are the hospital's clock times.",
    )
    mar_standard_times: str = Field(
        STANDARD_TIMES_DEFAULT,
        description="The hospital's standard administration times of orders that give a "
        "number of doses a day but no clock times: `daily=09:00; BID=09:00,21:00; "
        "TID=...; QID=...` (a name not given keeps its default; `daily` is also the time of "
        "every-N-days orders). The MAR marks such times as derived.",
    )

    # --- the journal (documentation during downtime; docs/journal.md) --------------------
    node_name: str = Field(
        "",
        description="This Standby node's name, recorded with every journal entry and downtime "
        "number (empty: the machine's host name).",
    )
    journal_mrn_range: str = Field(
        "",
        description="This node's downtime MRNs, FIRST..LAST with one prefix "
        "(DT4W-0001..DT4W-4999); no two nodes' ranges may overlap. Empty: this node registers "
        "no patients.",
    )
    journal_encounter_range: str = Field(
        "",
        description="This node's downtime encounter numbers, FIRST..LAST with one prefix "
        "(DE4W-0001..DE4W-4999); no two nodes' ranges may overlap.",
    )

    # --- after a downtime (docs/recovery.md) ---------------------------------------------
    recovery_vitals_hours: float = Field(
        4.0,
        gt=0,
        le=24,
        description="Hours between two sets of vital signs expected on a ward: a longer "
        "stretch with none in the EHR or the journal is on the device-data gap list.",
    )
    recovery_icu_vitals_hours: float = Field(
        1.0,
        gt=0,
        le=24,
        description="The same on an intensive care unit (a unit whose type is ICU, PEDICU, "
        "NICU...).",
    )

    # --- web ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `standby serve` listens on.")
    port: int = Field(8080, description="Port `standby serve` listens on.")
    stale_amber_seconds: int = Field(
        120, description="The header turns amber when data is older than this many seconds."
    )
    stale_red_seconds: int = Field(
        600, description="The header turns red when data is older than this many seconds."
    )
    session_idle_minutes: float = Field(
        30.0, description="A viewer session ends after this many minutes without a request."
    )
    session_absolute_hours: float = Field(
        12.0,
        description="A viewer session ends this many hours after its login, however active "
        "(one shift); expired sessions are purged from the database.",
    )
    login_max_failures: int = Field(
        5,
        description="Failed logins to one account from one address (within the lockout "
        "window) after which that address must wait before trying the account again; the "
        "wait doubles with each further failure (`login_backoff_seconds`, at most "
        "`login_lockout_minutes`).",
    )
    login_account_max_failures: int = Field(
        50,
        description="Failed logins to one account from all addresses (within the lockout "
        "window) after which the account is slowed down the same way, except from "
        "addresses it has logged in from before.",
    )
    login_address_max_failures: int = Field(
        20,
        description="Failed logins from one address to any accounts (within the lockout "
        "window) after which that address is slowed down the same way.",
    )
    login_backoff_seconds: float = Field(
        30.0, description="The first wait after a limit of failed logins is reached (seconds)."
    )
    login_lockout_minutes: float = Field(
        15.0,
        description="The window in which failed logins count, and the longest wait (minutes).",
    )
    login_threads: int = Field(
        2,
        description="Threads per worker process that check passwords (argon2): logins queue "
        "for them and never take the threads that serve pages.",
    )
    password_min_length: int = Field(
        10,
        description="The shortest password accepted; passwords must also not be common or "
        "derived from the username (zxcvbn score 3 or more).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed; empty (the default): those headers are "
        "ignored from everyone.",
    )
    fhir_base_url: str = Field(
        "",
        description="Comma-separated public base URLs of this node's FHIR API, as its clients "
        "address it (https://standby.hospital.example/fhir): the token endpoint takes only "
        "client assertions whose `aud` is one of them + `/auth/token`. Empty (the default): "
        "the URL the request's Host header names, which lets a node a client also "
        "authenticates to replay its assertions here: set it wherever clients are registered.",
    )
    tls_cert: Path | None = Field(
        None, description="PEM certificate chain: `standby serve` speaks HTTPS (with HSTS)."
    )
    tls_key: Path | None = Field(None, description="PEM private key of `tls_cert`.")
    refusal_alert_count: int = Field(
        20,
        description="A user refused this many different patients outside their units within "
        "`refusal_alert_seconds` raises an alert to the admins.",
    )
    refusal_alert_seconds: float = Field(
        300.0, description="The window of `refusal_alert_count` (seconds)."
    )
    audit_refusal_interval_seconds: float = Field(
        60.0,
        description="Refused logins from a blocked address or to a slowed-down account are "
        "counted and written to the audit log once per this many seconds.",
    )
    web_header_timeout_seconds: float = Field(
        10.0,
        description="A connection that has not sent a whole request head within this many "
        "seconds is closed.",
    )
    web_body_timeout_seconds: float = Field(
        30.0, description="A request body not received within this many seconds gets 408."
    )
    web_max_connections_per_client: int = Field(
        64, description="Open connections one client address may hold; more are closed."
    )
    web_max_connections: int = Field(
        900,
        description="Open connections per worker process; beyond it new requests get 503 "
        "(keep it under the process's open-files limit).",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Mark the session cookie Secure: true, false, or unset (Secure when the "
        "request came over https).",
    )
    break_glass_minutes: float = Field(
        60.0, description="How long a break-the-glass access to one patient lasts (minutes)."
    )

    # --- the audit log's chain, anchors and archives (docs/security.md#the-audit-log) -----------
    audit_anchor_file: Path | None = Field(
        None,
        description="Append-only file outside the database that receives copies of the audit "
        "chain's head (default: `<db>.audit-anchors` beside the SQLite file; none with "
        "PostgreSQL unless set).",
    )
    audit_anchor_seconds: float = Field(
        300.0,
        description="The viewer copies the audit chain's head to the anchor file at most this "
        "often (seconds), after writing audit lines.",
    )
    audit_key_file: Path | None = Field(
        None,
        description="File (0600) of the key that signs audit archives; created on the first "
        "archive (default: `<db>.audit-key` beside the SQLite file; must be set with "
        "PostgreSQL). Keep a copy off the node: without it archives cannot be verified.",
    )
    audit_retention_days: int | None = Field(
        None,
        description="Days of audit lines kept in the database: `standby audit archive` without "
        "`--before` archives lines older than this; unset keeps every line in the database.",
    )
    web_workers: int = Field(
        1,
        description="Worker processes of `standby serve` (one per core; each binds the port "
        "with SO_REUSEPORT so the kernel spreads connections evenly).",
    )
    web_threads: int = Field(
        8, description="Threads per worker process that run page handlers (database reads)."
    )
    summary_cache_seconds: float = Field(
        60.0,
        description="A patient summary is reused while nothing in it has changed and no dose "
        "has turned due or overdue, for at most this many seconds; 0 turns the cache off.",
    )

    # --- monitor (outage detection, downtime, notifications; docs/monitor.md) ------------
    monitor_interval_seconds: float = Field(
        10.0, description="Seconds between probe rounds of the EHR (fixed rate)."
    )
    monitor_timeout_seconds: float = Field(
        5.0, description="A probe with no answer within this many seconds has failed."
    )
    monitor_latency_threshold_ms: float = Field(
        2000.0, description="A probe answering slower than this is `slow` (degraded, not down)."
    )
    monitor_failures_to_declare: int = Field(
        3,
        description="Consecutive failed probe rounds that declare downtime automatically "
        "(3 × 10 s rounds: declared within about 35 s of the EHR going down).",
    )
    monitor_healthy_to_clear: int = Field(
        2, description="Consecutive healthy rounds that return `degraded` to `normal`."
    )
    monitor_healthy_to_propose_recovery: int = Field(
        3,
        description="Consecutive healthy rounds after which recovery is proposed to the "
        "incident commander (who confirms the end of downtime).",
    )
    monitor_retention_hours: float = Field(
        48.0, description="Probe results older than this are pruned (bounded time series)."
    )
    monitor_read_path: str = Field(
        "Patient?_count=1", description="The authenticated FHIR read the EHR probe makes."
    )
    monitor_token_url: str | None = Field(
        None, description="The EHR's SMART token endpoint, probed when set."
    )
    monitor_extra_probes: list[str] = Field(
        default_factory=list,
        description="Other systems to probe: `[name=]http(s)://...|tcp://host:port|dns://host` "
        "with optional ` interval=S timeout=S latency_ms=MS`; shown, not counted as EHR downtime.",
    )
    schedule_rules: Path | None = Field(
        None,
        description="TOML file of the schedule-triage rules (docs/schedule.md#rules); "
        "none: the rules shipped with Standby.",
    )
    monitor_smtp_host: str | None = Field(
        None, description="SMTP server for notification email (none: email is not sent)."
    )
    monitor_smtp_port: int = Field(25, description="Port of the SMTP server.")
    monitor_smtp_from: str = Field(
        "standby@localhost", description="Sender address of notification email."
    )
    monitor_email_recipients: list[str] = Field(
        default_factory=list, description="Email addresses notified of every downtime event."
    )
    monitor_webhook_urls: list[str] = Field(
        default_factory=list,
        description="URLs that receive every downtime event as a JSON POST (with retries).",
    )
    monitor_event_recipients: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Recipients per event (`declared`, `reminder`, `recovery-proposed`, "
        "`ended`): email addresses, webhook URLs or `scheme:address` for plug-in channels; "
        "replaces the defaults for that event.",
    )
    monitor_drill_recipients: list[str] = Field(
        default_factory=list,
        description="Who is notified during a drill (real recipients only when the drill asks).",
    )
    monitor_templates: dict[str, str] = Field(
        default_factory=dict,
        description="Message template per event: subject, blank line, body; `$since`, "
        "`$what_to_do`, `$message`, `$status_url`, ... (docs/monitor.md).",
    )
    monitor_reminder_minutes: float = Field(
        30.0, description="A reminder goes out every this many minutes of downtime (0: never)."
    )
    monitor_channel_plugins: list[str] = Field(
        default_factory=list,
        description="Extra notification channels (SMS, pager) as `scheme=module:factory`.",
    )
    monitor_status_url: str | None = Field(
        None, description="Public address of the status page, put in notifications."
    )
    monitor_what_to_do: str = Field(
        "The EHR is down. Use Standby's viewer and the printed downtime packets for patient "
        "information; document on the downtime forms; follow your unit's downtime procedure "
        "and the incident commander's messages.",
        description="What staff should do, shown on the downtime banner and in notifications.",
    )

    # --- sync (staying fresh from the source EHR; docs/sync.md) --------------------------
    sync_mode: str = Field(
        "census",
        description="`census`: search the patients who matter now, patient by patient; "
        "`type`: search each type type-wide by `_lastUpdated` (servers that allow it).",
    )
    sync_seed_mode: str = Field(
        "auto",
        description="How an empty replica is seeded: `auto` (read the source's "
        "CapabilityStatement: `$export` where offered, else type-wide searches where allowed, "
        "else the census rounds' per-patient pulls), `bulk` ($export), `search` (type-wide "
        "searches) or `none`.",
    )
    sync_interval_seconds: float = Field(
        5.0, description="Seconds between the starts of incremental sync rounds (`--watch`)."
    )
    sync_export_level: str = Field(
        "system", description="Bulk export level of the seed: `system`, `patient` or `group`."
    )
    sync_export_group: str | None = Field(
        None, description="Group id for a `group`-level bulk export."
    )
    sync_export_types: list[str] = Field(
        default_factory=list,
        description="Resource types the seed exports (`_type`); empty: all the server has.",
    )
    sync_units: list[str] = Field(
        default_factory=list,
        description="An edge node's units (alias, name or Location id): only the patients "
        "with an Encounter in progress there are copied, seeded by the census rounds "
        "(docs/edge-nodes.md); empty: the whole hospital.",
    )
    sync_patient_types: list[str] = Field(
        default_factory=lambda: [
            "Patient",
            "Encounter",
            "AllergyIntolerance",
            "Condition",
            "MedicationRequest",
            "MedicationAdministration",
            "MedicationStatement",
            "MedicationDispense",
            "Observation",
            "Procedure",
            "DiagnosticReport",
            "Immunization",
            "Flag",
            "DocumentReference",
            "CarePlan",
            "CareTeam",
            "Goal",
            "ServiceRequest",
            "Appointment",
            "Coverage",
            "Device",
            "Specimen",
            "RelatedPerson",
        ],
        description="Types searched per census patient in incremental sync (US Core's "
        "patient data and what the viewer reads; those the source's CapabilityStatement "
        "does not offer are left out, see `standby sync --plan`).",
    )
    sync_shared_types: list[str] = Field(
        default_factory=lambda: [
            "Organization",
            "Location",
            "Practitioner",
            "PractitionerRole",
            "Medication",
            "Schedule",
            "Slot",
        ],
        description="Types not tied to one patient, searched type-wide by `_lastUpdated`.",
    )
    sync_horizon_days: float = Field(
        2.0,
        description="Surgeries and appointments this many days ahead put a patient on the census.",
    )
    sync_overlap_seconds: float = Field(
        60.0, description="Searches ask for changes since the high-water mark minus this."
    )
    sync_reconcile_minutes: float = Field(
        60.0,
        description="For a source without `_history`: how often the ids it holds are "
        "compared with the replica's, to find deletes and gaps (0: never).",
    )
    sync_keep_hours: float = Field(
        24.0, description="Patients who left the census are still synchronised this long."
    )
    sync_patients_per_search: int = Field(
        20,
        description="Census patients per search (`patient=Patient/a,Patient/b`); 1 for EHRs that "
        "allow one patient per search.",
    )
    sync_page_size: int = Field(200, description="`_count` of every search page.")
    sync_concurrency: int = Field(4, description="Most requests in flight to the source.")
    sync_rate: float = Field(20.0, description="Most requests per second to the source.")
    sync_timeout_seconds: float = Field(30.0, description="Timeout of one request.")
    sync_max_attempts: int = Field(
        8, description="Tries of one request (429/503/timeouts) before it counts as failed."
    )

    # --- back-entry (filing the journal into the EHR; docs/recovery.md) -------------------
    recovery_rate: float = Field(
        50.0, description="Most requests per second to the EHR during back-entry (0: no limit)."
    )
    recovery_concurrency: int = Field(
        4, description="Most back-entry requests in flight to the EHR at once."
    )
    recovery_lease_seconds: float = Field(
        120.0,
        description="How long a back-entry runner holds a patient's entries before another "
        "runner may take them over (a killed runner's lease ends after this).",
    )
    recovery_entries_per_transaction: int = Field(
        200, description="Most journal entries in one transaction Bundle of back-entry."
    )

    # --- reports (downtime packets; docs/reports.md) --------------------------------------
    reports_out_dir: Path = Field(
        Path("packets"),
        description="Folder the downtime packets are written to (one sub-folder per unit).",
    )
    reports_interval_minutes: float = Field(
        15.0, description="`standby report --watch` regenerates every unit's packets this often."
    )
    reports_keep: int = Field(
        4, description="Generations of packets kept per unit (older ones are deleted)."
    )
    reports_printers: dict[str, str] = Field(
        default_factory=dict,
        description="CUPS printer per unit (unit alias or id → printer name) for `--print`.",
    )

    # --- retention (what a node keeps of what grows with time; docs/retention.md) ---------
    retention_interval_minutes: float = Field(
        60.0,
        description="Minutes between two retention passes (run by `standby sync --watch` and "
        "`standby serve`, once per interval for all the processes of a replica).",
    )
    history_retention_days: float = Field(
        7.0,
        description="Days of superseded resource versions and of deleted resources' tombstones "
        "kept in the replica; never pruned while a downtime is declared or journal entries "
        "are not yet filed into the EHR.",
    )
    sync_event_retention_days: float = Field(
        30.0, description="Days of sync events (round errors, warnings) kept."
    )
    quarantine_retention_days: float = Field(
        90.0, description="Days that quarantined input (bad lines or resources) is kept."
    )
    hl7_received_retention_days: float = Field(
        7.0,
        description="Days that the answers to HL7 v2 messages (control ids, for the duplicate"
        " check) are kept: longer than an interface engine goes on sending a message again.",
    )
    notification_retention_days: float = Field(
        30.0,
        description="Days that notifications sent (or given up) are kept; pending ones stay.",
    )

    @field_validator("mar_standard_times")
    @classmethod
    def _standard_times(cls, value: str) -> str:
        parse_standard_times(value)  # a clear ValueError names what is wrong
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as America/New_York"
            ) from e
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def parse_standard_times(text: str) -> dict[int, tuple[tuple[int, int], ...]]:
    """Doses a day → their clock times (hour, minute), from `mar_standard_times`
    ("BID=08:00,20:00; daily=10:00"); names not given keep the default. ValueError names
    what is wrong."""
    table = dict(_DEFAULT_TIMES)
    for part in (x.strip() for x in text.split(";")):
        if not part:
            continue
        name, eq, times = part.partition("=")
        key = name.strip().upper()
        if not eq or key not in STANDARD_TIMES_NAMES:
            raise ValueError(
                f"mar_standard_times: {part!r} is not NAME=HH:MM,...; the names are "
                f"{', '.join(STANDARD_TIMES_NAMES)}"
            )
        n = STANDARD_TIMES_NAMES[key]
        clock: list[tuple[int, int]] = []
        for t in (x.strip() for x in times.split(",")):
            h, colon, m = t.partition(":")
            if not (colon and h.isdigit() and m.isdigit() and len(m) == 2):
                raise ValueError(f"mar_standard_times: {key}: {t!r} is not a time HH:MM")
            if int(h) > 23 or int(m) > 59:
                raise ValueError(f"mar_standard_times: {key}: {t} is not a time of day")
            clock.append((int(h), int(m)))
        if len(clock) != n:
            raise ValueError(f"mar_standard_times: {key} needs {n} times, not {len(clock)}")
        if clock != sorted(set(clock)):
            raise ValueError(f"mar_standard_times: {key}: give each time once, in order")
        table[n] = tuple(clock)
    return table


def standard_times(settings: Settings) -> dict[int, tuple[tuple[int, int], ...]]:
    """The hospital's standard administration times: doses a day → clock times."""
    return parse_standard_times(settings.mar_standard_times)


def zone(settings: Settings) -> ZoneInfo:
    """The hospital's time zone."""
    return ZoneInfo(settings.timezone)


def audit_anchor_file(settings: Settings) -> Path | None:
    """Where copies of the audit chain's head go (beside the SQLite file by default)."""
    if settings.audit_anchor_file is not None:
        return settings.audit_anchor_file
    return None if settings.database_url else Path(f"{settings.db}.audit-anchors")


def audit_key_file(settings: Settings) -> Path | None:
    """The key that signs audit archives (beside the SQLite file by default)."""
    if settings.audit_key_file is not None:
        return settings.audit_key_file
    return None if settings.database_url else Path(f"{settings.db}.audit-key")


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and the optional TOML file; overrides win."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
