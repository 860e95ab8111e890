"""The demo's HL7 v2 feed during downtime, end to end over real sockets: the simulated EHR
(its change feed on, interface-engine mode) sends to the listener `standby demo` starts
(`start_feed`); downtime is declared and the EHR goes down; the simulated lab keeps
sending; a new critical potassium appears on the patient's summary (the viewer over HTTP,
in-process) marked as received during downtime, and the unit's charge nurse gets the
notice from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby import clock
from standby.accounts import users
from standby.cli.hl7_feed import start_feed
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.settings import Settings
from standby.sim.generate import generate_hospital
from standby.sim.server import load_store, run_in_thread
from standby.store import open_store
from standby.store.ingest import ingest_directory
from support.monitor_receivers import smtp_server
from support.web_site import PASSWORD, fast_hashes, login  # noqa: F401 (fixture)

MARK = "received during downtime from SIMLAB^SGH — not seen in the EHR"


def wait_for(what: str, check: Callable[[], bool], limit_s: float = 90.0) -> None:
    """Poll until `check()` (a deadline only against hanging, not a timed assertion)."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def _inpatient(store: Any) -> tuple[str, str]:
    """(patient id, unit Location id) of someone in a ward bed (`loc-3w-301-a`)."""
    for sr in store.iter_type("Encounter"):
        enc = sr.json()
        beds = [x for x in enc.get("location") or [] if x.get("status") == "active"]
        if enc["status"] != "in-progress" or not beds:
            continue
        bed = beds[-1]["location"]["reference"].split("/")[1]
        parts = bed.split("-")
        if len(parts) == 4 and parts[1][0].isdigit():
            return enc["subject"]["reference"].split("/")[1], f"loc-{parts[1]}"
    raise AssertionError("no inpatient in a ward bed")


def _critical_potassium(store: Any, pid: str) -> list[dict[str, Any]]:
    # by code too: a long stay has more than a page of Observations, and the feed's ids
    # (`v2ob-…`) sort after the EHR's, so the new result was past the first page
    page = store.search(
        "Observation", [("subject", f"Patient/{pid}"), ("code", "2823-3")], count=500
    )
    return [
        o
        for o in (sr.json() for sr in page.resources)
        if (o.get("valueQuantity") or {}).get("value") == 6.9
        and "hl7v2" in str(o.get("meta", {}).get("tag"))
    ]


@pytest.mark.slow
def test_a_critical_potassium_sent_during_downtime_is_on_the_summary_and_the_unit_is_told(
    tmp_path: Path,
) -> None:
    ehr_dir = tmp_path / "ehr"
    generate_hospital(12, 7, ehr_dir, now=datetime.now(UTC).replace(minute=0, second=0))
    replica = open_store(db=tmp_path / "standby.db")
    ingest_directory(replica, ehr_dir)  # what the demo's Bulk Data seed brings
    pid, unit = _inpatient(replica)
    ehr_store = load_store(ehr_dir)
    _url, ehr = run_in_thread(ehr_store, change_rate=0.5, seed=7)
    feed = None
    with smtp_server() as (smtp_port, received):
        settings = Settings(
            db=tmp_path / "standby.db",
            monitor_smtp_host="127.0.0.1",
            monitor_smtp_port=smtp_port,
            monitor_email_recipients=["everyone@hospital.example"],
            monitor_event_recipients={f"critical-result:{unit}": ["charge@unit.example"]},
        )
        cfg = MonitorConfig.from_settings(settings)
        try:
            feed = start_feed(settings, replica, ehr)
            downtime.declare(replica, cfg, "ic", clock.now())
            ehr.set_faults(outage=True)
            with pytest.raises(httpx.HTTPError):  # the EHR's FHIR API is down
                httpx.get(f"{_url}/metadata", timeout=5).raise_for_status()
            r = httpx.post(
                f"{ehr.admin_url}/_admin/lab-result",
                json={"patient": pid, "loinc": "2823-3", "value": 6.9, "flag": "HH"},
                timeout=10,
            )
            assert r.status_code == 201, r.text
            wait_for(
                "the lab's result in the replica", lambda: bool(_critical_potassium(replica, pid))
            )
            users.add_user(
                replica,
                "doc",
                PASSWORD,
                role="physician",
                units=[unit],
            )
            from starlette.testclient import TestClient

            from standby.web.app import create_app

            c = TestClient(create_app(settings, replica), follow_redirects=False)
            assert login(c, "doc", PASSWORD).status_code == 303
            page = c.get(f"/patients/{pid}")
            assert page.status_code == 200
            row = next(
                line
                for line in page.text.splitlines()
                if "from-feed-in-downtime" in line and "Potassium" in line
            )
            assert "6.9" in row and "HH critical" in row and MARK in row
            sent = outbox.drain(replica, cfg.channels(), timeout_s=30, backoff=cfg.backoff)
            assert sent >= 1
            wait_for(
                "the notice by mail", lambda: any("CRITICAL" in m["Subject"] for _, m in received)
            )
            mail = [(to, m) for to, m in received if "CRITICAL" in m["Subject"]]
            assert [to for to, _ in mail] == [["charge@unit.example"]]
            assert "Potassium" in mail[0][1]["Subject"]
        finally:
            if feed is not None:
                feed.stop()
            ehr.stop()
            ehr_store.close()
            replica.close()
