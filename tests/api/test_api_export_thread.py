"""An export's thread never dies with an exception no one sees: when its store goes away
under it (the node stopping, a test closing it), the failure is logged and the thread ends
cleanly. An unhandled thread exception was reported by pytest against whichever test ran
next in the worker (CI saw it on an unrelated history test)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from support.fhir_api import ApiSite

ASYNC = {"Prefer": "respond-async"}


def _export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("export-")]


def test_an_export_whose_store_closes_under_it_logs_and_ends(
    api_site: ApiSite, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    unhandled: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", unhandled.append)
    api_site.register("analytics", "system/*.rs")
    c = api_site.http()
    gate = threading.Event()
    from standby.api import export_jobs

    real_run = export_jobs.run

    def held_run(*args: Any) -> None:
        gate.wait(10)  # the store is closed before the job reads anything
        real_run(*args)

    monkeypatch.setattr(export_jobs, "run", held_run)
    with caplog.at_level(logging.ERROR, logger="standby.api.export_jobs"):
        r = c.get("/fhir/$export", headers={**api_site.headers("analytics"), **ASYNC})
        assert r.status_code == 202, r.text
        api_site.store.close()
        gate.set()
        for t in _export_threads():
            t.join(10)
    assert not _export_threads()
    assert unhandled == []
    assert any("export" in rec.getMessage() for rec in caplog.records)
