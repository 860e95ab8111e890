"""One assertion sent to several worker processes at once (each its own connection): one
token, the others refused as a replay, never an error."""

from __future__ import annotations

import threading

import pytest

from standby.api import smart
from standby.store import open_store
from support.fhir_api import TOKEN_URL, ApiSite


def _race(site: ApiSite, url: str | None, n: int = 8) -> list[str]:
    ward = site.register("ward", "system/*.read")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": smart.ASSERTION_TYPE,
        "client_assertion": ward.assertion(),
    }
    stores = [
        open_store(database_url=url) if url else open_store(db=site.settings.db) for _ in range(n)
    ]
    authorities = [smart.Authority(s) for s in stores]
    start = threading.Barrier(n)
    got: list[str] = []

    def worker(a: smart.Authority) -> None:
        start.wait()
        try:
            a.issue(form, TOKEN_URL)
            got.append("token")
        except smart.TokenRequestRefused as e:
            got.append(e.description)
        except Exception as e:  # what a worker would answer 500 with
            got.append(f"error {type(e).__name__}")

    threads = [threading.Thread(target=worker, args=(a,)) for a in authorities]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    return got


def _check(got: list[str]) -> None:
    assert got.count("token") == 1, got
    assert all(g == "token" or "jti" in g for g in got), got


def test_a_replay_race_on_sqlite(api_site: ApiSite) -> None:
    _check(_race(api_site, None))


@pytest.mark.postgres
def test_a_replay_race_on_postgres(pg_api_site: ApiSite) -> None:
    _check(_race(pg_api_site, pg_api_site.settings.database_url))
