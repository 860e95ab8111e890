"""The public status page does not reload itself (a reload throws keyboard focus and a
screen reader's place back to the top): it says when it was generated and offers a link."""

from __future__ import annotations

import html
import warnings
from typing import Any

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_status_page_does_not_reload_itself(site: Any) -> None:
    r = TestClient(site).get("/status")
    assert r.status_code == 200
    assert "refresh" not in {k.lower() for k in r.headers}
    text = html.unescape(r.text)
    assert 'http-equiv="refresh"' not in text.lower()
    assert "This page was generated at " in text
    assert '<a href="/status">reload it</a>' in text
    assert "refreshes every" not in text
