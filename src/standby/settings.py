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
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
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
    ingest_batch_size: int = Field(
        2000, description="Resources written per transaction by the bulk ingest path."
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

    # --- web ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `standby serve` listens on.")
    port: int = Field(8080, description="Port `standby serve` listens on.")
    stale_amber_seconds: int = Field(
        120, description="The header turns amber when data is older than this many seconds."
    )
    stale_red_seconds: int = Field(
        600, description="The header turns red when data is older than this many seconds."
    )

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


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and the optional TOML file; overrides win."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
