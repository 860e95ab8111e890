"""A search's paging snapshot as stored: its type and ids, one a line (compact, and only
the first page's bodies read); snapshots kept in the former form (JSON pairs) still page."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from support.fhir_api import ApiSite

SEARCH = "/fhir/Observation?patient=pat-1&_sort=-date&_count=3"


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def test_a_snapshot_keeps_the_type_and_one_id_a_line(api_site: ApiSite) -> None:
    api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    first = api_site.http().get(SEARCH, headers=h).json()
    nxt = _next(first)
    assert nxt is not None
    snapshot = parse_qs(urlsplit(nxt).query)["_getpages"][0]
    with api_site.store.read_transaction() as tx:
        rows = tx.query("SELECT entries FROM fhir_api_snapshots WHERE id = ?", (snapshot,))
    assert rows[0][0] == "\n".join(["Observation", *(f"hr-{d}" for d in range(7, 0, -1))])


def test_a_snapshot_of_the_former_form_still_pages(api_site: ApiSite) -> None:
    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    old = orjson.dumps([["Observation", f"hr-{d}"] for d in (7, 5, 3, 1)]).decode()
    with api_site.store.transaction() as tx:
        tx.execute(
            "INSERT INTO fhir_api_snapshots (id, client_id, created, seq, entries)"
            " VALUES (?, ?, ?, ?, ?)",
            ("old-one", ward.client_id, time.time(), 0, old),
        )
    c = api_site.http()
    b = c.get(
        "/fhir/Observation?patient=pat-1&_getpages=old-one&_getpagesoffset=2&_count=2", headers=h
    ).json()
    assert _ids(b) == ["hr-3", "hr-1"] and b["total"] == 4
    r = c.get("/fhir/Patient?_getpages=old-one&_getpagesoffset=0&_count=2", headers=h)
    assert r.status_code == 400 and "Observation" in r.text


def test_a_first_page_commits_its_snapshot_with_its_audit_line(
    api_site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write transaction per search that needs pages (the snapshot and the audit line
    together), committed before the page is sent: its `next` link works at once."""
    ward = api_site.register("ward", "system/*.read")
    h = api_site.headers("ward")
    c = api_site.http()
    c.get("/fhir/Patient/pat-1", headers=h)  # the tables made, the client's cache read
    writer = api_site.store._single_writer  # type: ignore[attr-defined]
    begun = []
    real = writer.cursor.execute

    def counting(sql: str, params: Any = ()) -> int:
        if sql.startswith("BEGIN"):
            begun.append(sql)
        return real(sql, params)

    monkeypatch.setattr(writer.cursor, "execute", counting)
    first = c.get(SEARCH, headers=h).json()
    assert len(begun) == 1
    monkeypatch.undo()
    b = c.get(_next(first) or "", headers=h).json()
    assert _ids(b) == ["hr-4", "hr-3", "hr-2"]
    lines = repository.search_audit(
        api_site.store, AuditQuery(username=ward.client_id, action="fhir-read")
    )
    assert [e.page for e in lines].count(SEARCH) == 1
