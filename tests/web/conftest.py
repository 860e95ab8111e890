"""The viewer's fixtures live in `support.web_site`, beside the helpers the tests import."""

from support.web_site import (
    fast_hashes,
    hospital,
    hospital_db,
    hospital_ndjson,
    mini_site,
    pg_hospital,
    pg_hospital_template,
    pg_mini_site,
)

__all__ = [
    "fast_hashes",
    "hospital",
    "hospital_db",
    "hospital_ndjson",
    "mini_site",
    "pg_hospital",
    "pg_hospital_template",
    "pg_mini_site",
]
