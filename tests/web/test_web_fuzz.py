"""No input gives a 500: every route of the app (enumerated from it), with hostile path
parameters, query strings and form fields, logged out, as a nurse and as the roles that
reach the monitor's and the admin's forms. Fields are those the templates and the route
modules name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from support.web_site import PASSWORD, Hospital, TestClient, csrf_of, login

WEB = Path(__file__).resolve().parents[2] / "src" / "standby" / "web"

HOSTILE = [
    "",
    "é€😀",
    "\x00",
    "a\x00b",
    "9" * 400,
    "-99999999999999999999999",
    "1e309",
    "x" * 2_000,
    "../../etc/passwd",
    "%00%ff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\r\nSet-Cookie: x=y",
    "\ud800",
]


def _names() -> list[str]:
    """Every form field and query parameter the viewer reads."""
    found: set[str] = set()
    for f in (WEB / "templates").rglob("*.html"):
        found.update(re.findall(r'name="([a-z_]+)"', f.read_text()))
    for f in WEB.rglob("*.py"):
        found.update(re.findall(r'(?:query|get)\(\s*"([a-z_]+)"', f.read_text()))
    return sorted(found - {"viewport", "robots"})


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:
        if isinstance(r, Route):
            for method in sorted(r.methods or {"GET"}):
                if method != "HEAD":
                    out.append((method, r.path))
    return out


def _fill(path: str, value: str) -> str:
    from urllib.parse import quote

    return re.sub(r"\{[^}]+\}", lambda _m: quote(value, safe="") or "x", path)


def _clients(h: Hospital) -> list[tuple[str, TestClient]]:
    """Clients that report a 500 as a status (to list every failure at once)."""
    out = []
    for who in ("anonymous", "nurse", "ic", "admin"):
        c = TestClient(
            h.app, client=("10.0.0.1", 50000), follow_redirects=False, raise_server_exceptions=False
        )
        if who != "anonymous":
            assert login(c, who, PASSWORD).status_code == 303
        out.append((who, c))
    return out


def _safe(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@pytest.mark.slow
def test_no_input_gives_a_500(hospital: Hospital) -> None:
    routes = _routes(hospital.app)
    names = _names()
    assert ("GET", "/patients/{patient_id}") in routes and "csrf_token" in names
    failures: list[str] = []
    for who, c in _clients(hospital):
        page = c.get("/search" if who != "anonymous" else "/login")
        token = csrf_of(page.text) if "csrf_token" in page.text else ""
        for method, path in routes:
            if path == "/logout":
                continue  # would end the session the rest of the loop needs
            for raw in HOSTILE:
                value = _safe(raw)
                url = _fill(path, value)
                if method == "GET":  # in groups: a URL has a length limit (httpx: 64 KiB)
                    per = max(1, 30_000 // (len(value.encode()) * 3 + len(max(names, key=len)) + 2))
                    variants = [
                        c.get(url, params={n: value for n in names[i : i + per]})
                        for i in range(0, len(names), per)
                    ]
                else:
                    form = {n: value for n in names}
                    variants = [
                        c.post(url, data={**form, "csrf_token": token}),
                        c.post(url, data={**form, "csrf_token": value}),
                        c.post(url, content=value.encode(), headers={"content-type": "text/plain"}),
                    ]
                for r in variants:
                    if r.status_code >= 500:
                        failures.append(f"{who} {method} {path} {raw[:20]!r}: {r.status_code}")
    assert not failures, "\n".join(failures[:40])


def test_a_non_ascii_csrf_token_is_refused_not_a_500(hospital: Hospital) -> None:
    c = hospital.login("nurse")
    r = c.post("/logout", data={"csrf_token": "é€"})
    assert r.status_code == 403
    c.get("/login")
    r = hospital.client().post("/login", data={"username": "x", "csrf_token": "é€"})
    assert r.status_code == 403
