"""What an edge node's pages say is down: its sync copies the central Standby, so the data
bar and the status page name the central Standby, never "the EHR", as what does not
answer; what the EHR does is what the central node last reported (docs/edge-nodes.md)."""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standby.settings import load_settings
from standby.store import open_store
from standby.sync import status
from standby.sync.upstream import CHECKPOINT
from standby.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AT = datetime(2026, 11, 30, 8, 0, 2, tzinfo=UTC)


def _central_said(store: Any, label: str = "NORMAL") -> None:
    said = {
        "data_as_of": "2026-11-30T08:00:00Z",
        "ehr": {"state": label.lower(), "label": label, "in_downtime": False},
        "sync": {"reachable": True},
    }
    kept = {"url": "http://c/fhir", "fetched_at": "2026-11-30T08:00:01.000Z", "said": said}
    store.set_checkpoint(CHECKPOINT, json.dumps(kept))


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_an_edge_node_cut_from_the_central_node_does_not_say_the_ehr_is_not_answering(
    tmp_path: Path,
) -> None:
    store = open_store(db=tmp_path / "edge.db")
    try:
        _central_said(store)
        status.record_contact(store, "ehr", "http://c/fhir", answered=False, at=AT)
        page = TestClient(create_app(load_settings(db=tmp_path / "edge.db"), store))
        shown = _text(page.get("/status").text)
    finally:
        store.close()
    assert "Central Standby unreachable" in shown  # the banner
    assert "Central Standby not answering" in shown  # the data bar
    assert "EHR not answering" not in shown
    assert "Central Standby answering this node NO" in shown  # the status table
    assert "EHR answering Standby" not in shown
    assert "NORMAL , as reported by the central Standby (http://c/fhir)" in shown
    assert "cannot be reached from this node now" in shown


def test_an_edge_node_in_touch_says_the_central_node_answers(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "edge.db")
    try:
        _central_said(store)
        status.record_contact(store, "ehr", "http://c/fhir", answered=True, at=AT)
        page = TestClient(create_app(load_settings(db=tmp_path / "edge.db"), store))
        shown = _text(page.get("/status").text)
    finally:
        store.close()
    assert "Central Standby answering (checked" in shown
    assert "EHR answering (checked" not in shown


def test_a_central_node_still_says_the_ehr_is_not_answering(tmp_path: Path) -> None:
    store = open_store(db=tmp_path / "central.db")
    try:
        status.record_contact(store, "ehr", "http://ehr/fhir", answered=False, at=AT)
        page = TestClient(create_app(load_settings(db=tmp_path / "central.db"), store))
        shown = _text(page.get("/status").text)
    finally:
        store.close()
    assert "EHR not answering" in shown and "Central Standby" not in shown
    assert "EHR answering Standby NO" in shown


def _banner(html: str) -> str:
    found = re.search(r'<div[^>]*id="edge-banner"[^>]*>', html)
    assert found, "no edge banner"
    return found.group(0)


def test_the_banner_is_an_alert_when_the_central_node_is_gone_and_quiet_when_it_answers(
    tmp_path: Path,
) -> None:
    """Cut from the central node, the banner is read out at once (role alert) and drawn as
    loudly as the downtime banner; in touch, it is one quiet status line."""
    store = open_store(db=tmp_path / "edge.db")
    try:
        _central_said(store)
        page = TestClient(create_app(load_settings(db=tmp_path / "edge.db"), store))
        status.record_contact(store, "ehr", "http://c/fhir", answered=True, at=AT)
        quiet = _banner(page.get("/status").text)
        status.record_contact(store, "ehr", "http://c/fhir", answered=False, at=AT)
        html = page.get("/status").text
        loud = _banner(html)
    finally:
        store.close()
    assert 'role="status"' in quiet and "sb-edge-alarm" not in quiet
    assert 'role="alert"' in loud and "sb-edge-alarm sb-central" in loud
    assert ".sb-edge-alarm .sb-label{" in html  # the label as large as the downtime's
