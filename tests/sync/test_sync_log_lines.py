"""During an outage the sync's log says one line per round with the count of failed
searches, not one "search failed" line per search."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from standby.settings import Settings
from standby.store import open_store
from standby.sync.runner import SyncRunner


def test_a_round_of_failed_searches_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    settings = Settings(
        db=tmp_path / "r.db",
        source_url="http://ehr.test/fhir",
        sync_mode="type",
        sync_max_attempts=1,
    )
    with open_store(db=settings.db) as store:
        runner = SyncRunner(settings, store, transport=httpx.MockTransport(refuse))
        try:
            with caplog.at_level(logging.WARNING, logger="standby.sync"):
                result = runner.run_round()
        finally:
            runner.close()
    assert result.failed > 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert f"{result.failed} of {result.requests} searches failed" in warnings[0].getMessage()
