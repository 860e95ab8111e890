"""No input gives a 500 on the scheduler's pages (the app-wide fuzz test logs in as roles
that cannot open them): hostile path parameters, query strings and form fields."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from starlette.routing import Route

from support.web_site import PASSWORD, Hospital, TestClient, csrf_of, login

HOSTILE = [
    "",
    "é€😀",
    "\x00",
    "9" * 400,
    "-99999999999999999999999",
    "1e309",
    "nan",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "<script>",
    "take:x",
    "or1@-5",
]
FIELDS = [
    "decision",
    "reason",
    "kind",
    "room",
    "person",
    "start",
    "end",
    "note",
    "withdraw",
    "outcome",
    "unavailable_days",
    "action",
    "not_before",
    "days",
    "seconds",
    "proposal_id",
    "hours",
    "show",
    "list",
]


@pytest.mark.slow
def test_scheduler_pages_give_no_500(hospital: Hospital) -> None:
    c = TestClient(
        hospital.app,
        client=("10.0.0.1", 50000),
        follow_redirects=False,
        raise_server_exceptions=False,
    )
    assert login(c, "scheduler", PASSWORD).status_code == 303
    token = csrf_of(c.get("/schedules/or-desk").text)
    routes = [
        (m, r.path)
        for r in hospital.app.routes
        if isinstance(r, Route) and r.path.startswith("/schedules/")
        for m in sorted(r.methods or {"GET"})
        if m != "HEAD"
    ]
    failures = []
    for method, path in routes:
        for value in HOSTILE:
            url = path.replace("{appointment_id}", quote(value, safe="") or "x")
            if method == "GET":
                r = c.get(url, params={f: value for f in FIELDS})
            else:
                form = {f: value for f in FIELDS}
                form[f"take:{value}"] = value
                seconds = {"seconds": "1"}
                r = c.post(url, data={**form, **seconds, "csrf_token": token})
            if r.status_code >= 500:
                failures.append(f"{method} {path} {value[:20]!r}: {r.status_code}")
    assert not failures, "\n".join(failures[:20])
